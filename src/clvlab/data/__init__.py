"""The data layer: transaction validation, RFM summaries, holdout split and folding."""

from clvlab.data.folding import FoldedTable, fold
from clvlab.data.rfm import rfm_metadata, rfm_summary, validate_rfm
from clvlab.data.simulate import simulate_transactions
from clvlab.data.transactions import validate_transactions

__all__ = [
    "FoldedTable",
    "fold",
    "rfm_metadata",
    "rfm_summary",
    "simulate_transactions",
    "validate_rfm",
    "validate_transactions",
]
