"""The data layer: transaction validation, RFM summaries (continuous time, and the
discrete-time opportunity summary of BG/BB), holdout split and folding."""

from clvlab.data.contractual import cohort_histories, subscription_summary
from clvlab.data.discrete import opportunity_summary
from clvlab.data.folding import FoldedTable, fold
from clvlab.data.rfm import rfm_metadata, rfm_summary, validate_rfm
from clvlab.data.simulate import simulate_transactions
from clvlab.data.transactions import validate_transactions

__all__ = [
    "FoldedTable",
    "cohort_histories",
    "fold",
    "opportunity_summary",
    "rfm_metadata",
    "rfm_summary",
    "simulate_transactions",
    "subscription_summary",
    "validate_rfm",
    "validate_transactions",
]
