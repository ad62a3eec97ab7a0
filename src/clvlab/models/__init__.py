"""Models: one small declarative class per model, and the registry of purchase models."""

from clvlab.models.base import BaseModel, FitData
from clvlab.models.beta_geo import BetaGeo
from clvlab.models.beta_geo_beta_binom import BetaGeoBetaBinom
from clvlab.models.gamma_gamma import GammaGamma
from clvlab.models.modified_beta_geo import ModifiedBetaGeo
from clvlab.models.pareto_nbd import ParetoNBD
from clvlab.models.purchase import PurchaseModel, purchase_models
from clvlab.models.shifted_beta_geo import ShiftedBetaGeo
from clvlab.priors import Prior

__all__ = [
    "BaseModel",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "FitData",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "Prior",
    "PurchaseModel",
    "ShiftedBetaGeo",
    "purchase_models",
]
