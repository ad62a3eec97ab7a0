"""Per-customer predictions and CLV, from parameter draws to summary tables."""

from clvlab.predict.clv import cash_flow_schedule, clv, per_period_rate

__all__ = ["cash_flow_schedule", "clv", "per_period_rate"]
