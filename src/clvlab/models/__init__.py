"""Models: one small declarative class per model."""

from clvlab.models.base import BaseModel, FitData
from clvlab.models.beta_geo import BetaGeo
from clvlab.models.gamma_gamma import GammaGamma
from clvlab.models.priors import Prior

__all__ = ["BaseModel", "BetaGeo", "FitData", "GammaGamma", "Prior"]
