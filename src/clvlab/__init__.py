"""clvlab: probabilistic customer-lifetime-value models with honest uncertainty.

transactions → RFM summary → fit (MLE via lifetimes, or PyMC) → parameter draws →
per-customer predictions with intervals → decisions (segments, groups, CAC, forecasts;
:mod:`clvlab.decisions`).
"""

from clvlab import datasets, plots
from clvlab._version import __version__
from clvlab.data import (
    FoldedTable,
    cohort_histories,
    fold,
    opportunity_summary,
    rfm_metadata,
    rfm_summary,
    simulate_transactions,
    subscription_summary,
    validate_rfm,
    validate_transactions,
)
from clvlab.decisions import (
    Decisions,
    GroupComparison,
    acquisition,
    acquisition_cohorts,
    compare_groups,
    decide,
    new_customer_value,
    read_cac,
    retention_rate,
    revenue_forecast,
    simple_clv,
    value_segments,
)
from clvlab.errors import (
    ArgumentError,
    ClvlabError,
    ConvergenceError,
    DataQualityWarning,
    DataValidationError,
    DegenerateFitWarning,
    ExportError,
    MissingDependencyError,
    ModelFileError,
    NotFittedError,
    PerformanceWarning,
    SamplingWarning,
    UnitMismatchError,
)
from clvlab.evaluate import Evaluation, compare, evaluate, tracking
from clvlab.export import export, read_export
from clvlab.io import load
from clvlab.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    Prior,
    PurchaseModel,
    ShiftedBetaGeo,
    purchase_models,
)
from clvlab.predict import clv, per_period_rate
from clvlab.predict.checks import frequency_check, frequency_recency_matrix
from clvlab.predict.table import CustomerPredictions, predict_customers

__all__ = [
    "ArgumentError",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "ClvlabError",
    "ConvergenceError",
    "CustomerPredictions",
    "DataQualityWarning",
    "DataValidationError",
    "Decisions",
    "DegenerateFitWarning",
    "Evaluation",
    "ExportError",
    "FoldedTable",
    "GammaGamma",
    "GroupComparison",
    "MissingDependencyError",
    "ModelFileError",
    "ModifiedBetaGeo",
    "NotFittedError",
    "ParetoNBD",
    "PerformanceWarning",
    "Prior",
    "PurchaseModel",
    "SamplingWarning",
    "ShiftedBetaGeo",
    "UnitMismatchError",
    "__version__",
    "acquisition",
    "acquisition_cohorts",
    "clv",
    "cohort_histories",
    "compare",
    "compare_groups",
    "datasets",
    "decide",
    "evaluate",
    "export",
    "fold",
    "frequency_check",
    "frequency_recency_matrix",
    "load",
    "new_customer_value",
    "opportunity_summary",
    "per_period_rate",
    "plots",
    "predict_customers",
    "purchase_models",
    "read_cac",
    "read_export",
    "retention_rate",
    "revenue_forecast",
    "rfm_metadata",
    "rfm_summary",
    "simple_clv",
    "simulate_transactions",
    "subscription_summary",
    "tracking",
    "validate_rfm",
    "validate_transactions",
    "value_segments",
]
