"""Model evaluation on holdout data and comparison tables."""

from clvlab.evaluate.compare import compare
from clvlab.evaluate.holdout import Evaluation, evaluate, loo

__all__ = ["Evaluation", "compare", "evaluate", "loo"]
