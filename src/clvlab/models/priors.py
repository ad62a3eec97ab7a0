"""Serialisable prior specifications for the Bayesian fits.

A :class:`Prior` names a PyMC distribution and its arguments, so priors can be saved to
JSON with the model and rebuilt exactly. ``Prior("HalfFlat")`` gives a flat prior on the
positive reals, under which the posterior mode is the maximum-likelihood estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clvlab.errors import ClvlabError

__all__ = ["Prior"]


@dataclass(frozen=True)
class Prior:
    """A PyMC distribution by name with keyword arguments.

    Examples
    --------
    >>> Prior("LogNormal", mu=0.0, sigma=1.5).to_dict()
    {'dist': 'LogNormal', 'kwargs': {'mu': 0.0, 'sigma': 1.5}}
    """

    dist: str
    kwargs: dict[str, float] = field(default_factory=dict)

    def __init__(self, dist: str, **kwargs: float) -> None:
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "kwargs", {k: float(v) for k, v in kwargs.items()})

    def create(self, name: str) -> Any:
        """Create the PyMC random variable ``name`` inside the current model context."""
        import pymc as pm

        factory = getattr(pm, self.dist, None)
        if factory is None or not isinstance(factory, type):
            raise ClvlabError(f"prior for {name!r}: PyMC has no distribution {self.dist!r}")
        return factory(name, **self.kwargs)

    def sample(self, n: int, seed: int | None = None) -> Any:
        """``n`` draws from the prior (a NumPy array), for prior predictive checks."""
        import pymc as pm

        if self.dist in ("HalfFlat", "Flat"):
            raise ClvlabError(
                f"{self} is improper and cannot be sampled; use a proper prior for prior "
                "predictive checks"
            )
        factory = getattr(pm, self.dist, None)
        if factory is None or not isinstance(factory, type):
            raise ClvlabError(f"PyMC has no distribution {self.dist!r}")
        dist: Any = factory
        return pm.draw(dist.dist(**self.kwargs), draws=n, random_seed=seed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"dist": self.dist, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prior:
        """Inverse of :meth:`to_dict`."""
        return cls(data["dist"], **data.get("kwargs", {}))

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.kwargs.items())
        return f"{self.dist}({args})"
