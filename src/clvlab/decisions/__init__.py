"""From CLV to marketing decisions, each figure with its uncertainty.

- :func:`simple_clv`: the practitioner's simple-formula and historic CLV, beside the
  model's (:func:`retention_rate` estimates the retention it needs);
- :func:`new_customer_value` and :func:`acquisition`: the value of a newly acquired
  customer, the ceiling for CAC, and CLV:CAC, payback and P(CLV > CAC);
- :func:`value_segments`: tiers by CLV with each customer's probability of each tier,
  and an at-risk segment;
- :func:`compare_groups`: CLV and its parts per channel, campaign or acquisition
  cohort, with differences between groups on paired draws;
- :func:`revenue_forecast`: purchases and revenue per future period.

Every function works from the paired parameter draws of a purchase model and
Gamma-Gamma, for every purchase model of the contract, so no business metric is a
reduction of point estimates.
"""

from clvlab.decisions.acquisition import (
    NewCustomerValueDraws,
    acquisition,
    cac_summary,
    new_customer_value,
    new_customer_value_draws,
    read_cac,
)
from clvlab.decisions.forecast import revenue_forecast
from clvlab.decisions.groups import GroupComparison, acquisition_cohorts, compare_groups
from clvlab.decisions.report import Decisions, decide
from clvlab.decisions.segments import value_segments
from clvlab.decisions.simple import (
    RetentionEstimate,
    margin_multiple,
    retention_rate,
    simple_clv,
    simple_expected_purchases,
)

__all__ = [
    "Decisions",
    "GroupComparison",
    "NewCustomerValueDraws",
    "RetentionEstimate",
    "acquisition",
    "acquisition_cohorts",
    "cac_summary",
    "compare_groups",
    "decide",
    "margin_multiple",
    "new_customer_value",
    "new_customer_value_draws",
    "read_cac",
    "retention_rate",
    "revenue_forecast",
    "simple_clv",
    "simple_expected_purchases",
    "value_segments",
]
