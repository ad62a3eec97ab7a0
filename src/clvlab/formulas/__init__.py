"""Model formulas: log-likelihoods and closed-form predictions, one module per model."""

from clvlab.formulas import bgnbd, gamma_gamma
from clvlab.formulas._ops import numpy_gather_ops, numpy_ops, pytensor_ops

__all__ = ["bgnbd", "gamma_gamma", "numpy_gather_ops", "numpy_ops", "pytensor_ops"]
