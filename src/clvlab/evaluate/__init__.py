"""Model evaluation on holdout data and comparison tables."""

from clvlab.evaluate.compare import compare
from clvlab.evaluate.holdout import Evaluation, evaluate, loo
from clvlab.evaluate.tracking import tracking

__all__ = ["Evaluation", "compare", "evaluate", "loo", "tracking"]
