"""Array backends for the model formulas.

Each formula is written once against an ``ops`` namespace: :data:`numpy_ops` (SciPy
special functions, for predictions), :data:`pytensor_ops` (for the PyMC likelihood) or
:func:`autograd_ops` (exact derivatives of the MLE's log-likelihood without a compile
step; autograd comes with lifetimes). Parity tests check that they agree.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import special

__all__ = ["Ops", "autograd_ops", "numpy_ops", "pytensor_ops"]

Ops = Any  # a namespace with the functions below; kept loose so both backends fit


numpy_ops = SimpleNamespace(
    name="numpy",
    log=np.log,
    log1p=np.log1p,
    exp=np.exp,
    gammaln=special.gammaln,
    betaln=special.betaln,
    logaddexp=np.logaddexp,
    where=np.where,
    maximum=np.maximum,
    hyp2f1=special.hyp2f1,
    sum=np.sum,
)


def autograd_ops() -> SimpleNamespace:
    """The autograd backend (built on call: autograd is imported only when needed)."""
    import autograd.numpy as anp
    from autograd.scipy import special as aspecial

    return SimpleNamespace(
        name="autograd",
        log=anp.log,
        log1p=anp.log1p,
        exp=anp.exp,
        gammaln=aspecial.gammaln,
        betaln=aspecial.betaln,
        logaddexp=anp.logaddexp,
        where=anp.where,
        maximum=anp.maximum,
        hyp2f1=None,  # not differentiable in autograd; no likelihood needs it
        sum=anp.sum,
    )


def _pytensor_ops() -> SimpleNamespace:
    import pytensor.tensor as pt

    return SimpleNamespace(
        name="pytensor",
        log=pt.log,
        log1p=pt.log1p,
        exp=pt.exp,
        gammaln=pt.gammaln,
        betaln=pt.special.betaln,
        logaddexp=pt.logaddexp,
        where=pt.switch,
        maximum=pt.maximum,
        hyp2f1=pt.hyp2f1,
        sum=pt.sum,
    )


class _LazyOps:
    """Build the pytensor namespace on first use, so importing clvlab stays light."""

    _ops: SimpleNamespace | None = None

    def __getattr__(self, item: str) -> Any:
        if _LazyOps._ops is None:
            _LazyOps._ops = _pytensor_ops()
        return getattr(_LazyOps._ops, item)


pytensor_ops: Any = _LazyOps()
