"""Array backends for the model formulas.

Each formula is written once against an ``ops`` namespace: :data:`numpy_ops` (SciPy
special functions, for predictions and MLE checks) or :data:`pytensor_ops` (for the PyMC
likelihood and automatic derivatives). A parity test checks that both agree.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import special

__all__ = ["Ops", "numpy_ops", "pytensor_ops"]

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
