"""Historic and simple-formula CLV (clvlab.decisions.simple).

Every expected value is a hand computation on the four-customer table below, written out
in the test that uses it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlab.decisions.simple import (
    Level,
    RetentionEstimate,
    margin_multiple,
    retention_rate,
    simple_clv,
    simple_expected_purchases,
)
from clvlab.errors import ArgumentError, DataValidationError, UnitMismatchError
from clvlab.units import convert

# Four customers, time in months. Default lapse: half a year = 6 months.
#   id  x  t_x  T   m    t_x + 6 <= T ?   exposure min(t_x + 6, T)
#   A   3   8  10  20    14 > 10: no      10
#   B   0   0  10   0     6 <= 10: lapsed  6
#   C   1   2  12  50     8 <= 12: lapsed  8
#   D   2   3   5  15     9 >  5: no       5
# events = 2, exposure = 29 months, hazard 2/29 a month, r = exp(-2/29) = 0.933358...
EVENTS, EXPOSURE = 2, 29.0
R = math.exp(-2 / 29)


def _table(unit: str = "M") -> pd.DataFrame:
    factor = convert(1.0, "M", unit)
    rfm = pd.DataFrame(
        {
            "frequency": [3, 0, 1, 2],
            "recency": [8.0 * factor, 0.0, 2.0 * factor, 3.0 * factor],
            "T": [10.0 * factor, 10.0 * factor, 12.0 * factor, 5.0 * factor],
            "monetary_value": [20.0, 0.0, 50.0, 15.0],
        },
        index=pd.Index(["A", "B", "C", "D"], name="customer_id"),
    )
    rfm.attrs["clvlab"] = {"kind": "rfm", "time_unit": unit}
    return rfm


@pytest.fixture
def rfm() -> pd.DataFrame:
    return _table()


def test_retention_rate_by_hand(rfm: pd.DataFrame) -> None:
    est = retention_rate(rfm)  # unit="M", lapse = 6 months
    assert isinstance(est, RetentionEstimate)
    assert (est.events, est.customers, est.unit) == (EVENTS, 4, "M")
    assert est.exposure == pytest.approx(EXPOSURE, rel=1e-12)  # 10 + 6 + 8 + 5
    assert est.lapse == pytest.approx(6.0, rel=1e-12)  # 0.5 x 365.25 / (365.25 / 12)
    assert est.rate == pytest.approx(R, rel=1e-12)  # exp(-2 / 29)
    assert float(est) == est.rate and est.hazard == pytest.approx(2 / 29)
    # lapse = 2 months: A (8 + 2 = 10 <= 10), B, C lapse; D (3 + 2 = 5 <= 5) too.
    # exposure 10 + 2 + 4 + 5 = 21, r = exp(-4/21)
    short = retention_rate(rfm, lapse=2.0)
    assert (short.events, short.exposure) == (4, pytest.approx(21.0))
    assert short.rate == pytest.approx(math.exp(-4 / 21), rel=1e-12)


def test_retention_rate_does_not_depend_on_the_table_unit() -> None:
    # the same customers in weeks and days give the monthly estimate above, and a weekly
    # estimate converts to the monthly one through its constant hazard
    for unit in ("W", "D"):
        est = retention_rate(_table(unit), unit="M")
        assert (est.events, est.exposure) == (EVENTS, pytest.approx(EXPOSURE, rel=1e-12))
        assert est.rate == pytest.approx(R, rel=1e-12)
    weekly = retention_rate(_table(), unit="W")  # lapse 26.09 weeks = 6 months
    assert weekly.exposure == pytest.approx(EXPOSURE * convert(1, "M", "W"), rel=1e-12)
    assert weekly.per_period("M") == pytest.approx(R, rel=1e-12)
    assert weekly.rate == pytest.approx(R ** convert(1, "W", "M"), rel=1e-12)


def test_simple_clv_customer_level_by_hand(rfm: pd.DataFrame) -> None:
    out = simple_clv(rfm, horizon=2.5, margin=0.5)
    # 2.5 months: w = (1, 1, 0.5), d = 0
    multiple = R + R**2 + 0.5 * R**3
    assert out.attrs["clvlab"]["margin_multiple"] == pytest.approx(multiple, rel=1e-12)
    population_aov = (3 * 20 + 1 * 50 + 2 * 15) / 6  # sum(x m) / sum(x) = 140 / 6
    expected = pd.DataFrame(
        {
            "historic_clv": [0.5 * 3 * 20, 0.0, 0.5 * 1 * 50, 0.5 * 2 * 15],
            "order_value": [20.0, population_aov, 50.0, 15.0],
            "purchases_per_period": [3 / 10, 0.0, 1 / 12, 2 / 5],
            "simple_clv": [
                0.5 * 20 * 0.3 * multiple,
                0.0,
                0.5 * 50 / 12 * multiple,
                0.5 * 15 * 0.4 * multiple,
            ],
            # lifespan min(2.5, 1 / (1 - r) = 15.0) = 2.5
            "lifespan_clv": [0.5 * 20 * 0.3 * 2.5, 0.0, 0.5 * 50 / 12 * 2.5, 0.5 * 15 * 0.4 * 2.5],
        },
        index=rfm.index,
    )
    pd.testing.assert_frame_equal(out, expected, rtol=1e-12)
    meta = out.attrs["clvlab"]
    assert meta["retention"] == {
        "rate": pytest.approx(R),
        "events": 2,
        "exposure": pytest.approx(29.0),
        "lapse": pytest.approx(6.0),
        "unit": "M",
        "customers": 4,
        "source": "estimated",
    }
    assert (meta["horizon"], meta["unit"], meta["margin"], meta["level"]) == (
        2.5,
        "M",
        0.5,
        "customer",
    )
    assert meta["time_unit"] == "M" and meta["lifespan"] == 2.5
    assert meta["totals"]["historic_clv"] == pytest.approx(70.0)  # 30 + 0 + 25 + 15
    assert meta["totals"]["simple_clv"] == pytest.approx(out["simple_clv"].sum())


def test_simple_clv_average_level_by_hand(rfm: pd.DataFrame) -> None:
    out = simple_clv(rfm, horizon=2.5, margin=0.5, level="average")
    multiple = R + R**2 + 0.5 * R**3
    aov, rate = 140 / 6, 6 / 37  # sum(x m)/sum(x); sum(x)/sum(T) = 6 / (10+10+12+5)
    assert out["order_value"].tolist() == pytest.approx([aov] * 4)
    assert out["purchases_per_period"].tolist() == pytest.approx([rate] * 4)
    assert out["simple_clv"].tolist() == pytest.approx([0.5 * aov * rate * multiple] * 4)
    assert out["lifespan_clv"].tolist() == pytest.approx([0.5 * aov * rate * 2.5] * 4)
    # the historic value is each customer's own, whatever the level
    assert out["historic_clv"].tolist() == [30.0, 0.0, 25.0, 15.0]
    # the aggregate formula: N x margin x sum(x m) / sum(T) x multiple = 4 x 0.5 x 140/37 x M
    assert out.attrs["clvlab"]["totals"]["simple_clv"] == pytest.approx(
        4 * 0.5 * 140 / 37 * multiple, rel=1e-12
    )


def test_units_of_table_and_period_are_converted() -> None:
    # the table in weeks, the CLV in months: the same numbers as the monthly table
    monthly = simple_clv(_table("M"), horizon=2.5)
    weekly = simple_clv(_table("W"), horizon=2.5)
    pd.testing.assert_frame_equal(monthly, weekly, rtol=1e-12)
    # the CLV per week over 2.5 months of weeks: rate per week = rate per month / 4.348
    in_weeks = simple_clv(_table("M"), horizon=2.5, unit="W", retention=1.0)
    per_week = convert(1, "W", "M")
    assert in_weeks["purchases_per_period"].tolist() == pytest.approx(
        [0.3 * per_week, 0.0, per_week / 12, 0.4 * per_week]
    )
    # r = 1: the multiple is the horizon, 2.5 weeks of revenue
    assert in_weeks["simple_clv"].tolist() == pytest.approx(
        [20 * 0.3 * per_week * 2.5, 0.0, 50 / 12 * per_week * 2.5, 15 * 0.4 * per_week * 2.5]
    )


def test_discounting_partial_period_and_given_retention(rfm: pd.DataFrame) -> None:
    out = simple_clv(rfm, horizon=2.5, retention=0.8, discount_rate=0.01)
    # 0.8/1.01 + 0.8^2/1.01^2 + 0.5 x 0.8^3/1.01^3, cash flows at period ends
    multiple = 0.8 / 1.01 + 0.64 / 1.01**2 + 0.5 * 0.512 / 1.01**3
    assert out["simple_clv"]["A"] == pytest.approx(20 * 0.3 * multiple, rel=1e-12)
    # lifespan min(2.5, 1 / 0.2 = 5) = 2.5, undiscounted
    assert out["lifespan_clv"]["A"] == pytest.approx(20 * 0.3 * 2.5, rel=1e-12)
    assert out.attrs["clvlab"]["retention"] == {"rate": 0.8, "unit": "M", "source": "given"}
    assert margin_multiple(0.8, 2.5, 0.01) == pytest.approx(multiple, rel=1e-12)
    # a whole number of periods has no partial weight: 0.8 + 0.64 + 0.512
    assert margin_multiple(0.8, 3.0) == pytest.approx(1.952, rel=1e-12)
    # the infinite-horizon limit r / (1 + d - r) (Gupta & Lehmann 2003)
    assert margin_multiple(0.8, 3000.0, 0.01) == pytest.approx(0.8 / 0.21, rel=1e-12)


def test_retention_one_and_zero(rfm: pd.DataFrame) -> None:
    full = simple_clv(rfm, horizon=2.5, retention=1.0)
    # r = 1: multiple = 2.5 periods; lifespan = horizon (1 / (1 - r) is infinite)
    np.testing.assert_allclose(full["simple_clv"], [20 * 0.3 * 2.5, 0.0, 50 / 12 * 2.5, 6 * 2.5])
    np.testing.assert_allclose(full["simple_clv"], full["lifespan_clv"], rtol=1e-12)
    assert full.attrs["clvlab"]["lifespan"] == 2.5
    none = simple_clv(rfm, horizon=2.5, retention=0.0)
    assert (none["simple_clv"] == 0).all()  # gone before the first period's end
    # the lifespan rule counts the current period: 1 / (1 - 0) = 1 period of revenue
    np.testing.assert_allclose(none["lifespan_clv"], [6.0, 0.0, 50 / 12, 6.0])
    assert none["historic_clv"].tolist() == [60.0, 0.0, 50.0, 30.0]


def test_lifespan_is_capped_at_the_horizon(rfm: pd.DataFrame) -> None:
    # r = 0.5: expected lifespan 1 / (1 - 0.5) = 2 periods < 12
    out = simple_clv(rfm, horizon=12, retention=0.5)
    assert out.attrs["clvlab"]["lifespan"] == pytest.approx(2.0)
    assert out["lifespan_clv"]["A"] == pytest.approx(20 * 0.3 * 2.0)
    # the estimated r: 1 / (1 - exp(-2/29)) = 15.0 months < 24
    long = simple_clv(rfm, horizon=24)
    assert long.attrs["clvlab"]["lifespan"] == pytest.approx(1 / (1 - R), rel=1e-12)


def test_retention_estimate_is_accepted_and_converted(rfm: pd.DataFrame) -> None:
    weekly = retention_rate(rfm, unit="W")
    out = simple_clv(rfm, horizon=2.5, retention=weekly)
    pd.testing.assert_frame_equal(out, simple_clv(rfm, horizon=2.5), rtol=1e-12)
    meta = out.attrs["clvlab"]["retention"]
    assert meta["rate"] == pytest.approx(R) and meta["estimated_per"] == "W"
    assert meta["source"] == "estimated" and meta["events"] == 2


def test_simple_expected_purchases_is_the_same_rule(rfm: pd.DataFrame) -> None:
    # 2.5 months: x / T x (r + r^2 + 0.5 r^3)
    got = simple_expected_purchases(rfm, 2.5)
    multiple = R + R**2 + 0.5 * R**3
    assert got.tolist() == pytest.approx([0.3 * multiple, 0.0, multiple / 12, 0.4 * multiple])
    assert got.attrs["clvlab"]["retention"]["events"] == 2
    # one length per customer
    each = simple_expected_purchases(rfm, [1.0, 1.0, 2.0, 2.5], retention=0.5)
    assert each.tolist() == pytest.approx([0.3 * 0.5, 0.0, (0.5 + 0.25) / 12, 0.4 * 0.8125])
    # and simple_clv in the table's unit, undiscounted, is AOV x these purchases
    clv = simple_clv(rfm, horizon=2.5, margin=1.0)
    np.testing.assert_allclose(clv["simple_clv"], clv["order_value"] * got, rtol=1e-12)


def test_input_is_not_mutated(rfm: pd.DataFrame) -> None:
    before, attrs = rfm.copy(), {k: dict(v) for k, v in rfm.attrs.items()}
    out = simple_clv(rfm, horizon=3, level="average")
    retention_rate(rfm)
    simple_expected_purchases(rfm, 2.0)
    pd.testing.assert_frame_equal(rfm, before)
    assert rfm.attrs == attrs
    assert out.index.equals(rfm.index) and out.index is not rfm.index


BAD_ARGUMENTS = [
    ({"horizon": -1}, r"horizon must be positive, got -1\.0"),
    ({"horizon": float("nan")}, r"horizon must be a finite number, got nan"),
    ({"horizon": 0}, r"horizon must be positive"),
    ({"margin": 0}, r"margin must lie in \(0, 1\], got 0\.0"),
    ({"margin": 1.2}, r"margin must lie in \(0, 1\], got 1\.2"),
    ({"retention": 1.5}, r"retention must lie in \[0, 1\], got 1\.5"),
    ({"retention": -0.1}, r"retention must lie in \[0, 1\]"),
    ({"retention": float("nan")}, r"retention must be a finite number"),
    ({"level": "median"}, r"level must be one of \['customer', 'average'\], got 'median'"),
    ({"unit": "fortnight"}, r"unknown time unit 'fortnight'"),
    ({"discount_rate": -1}, r"discount_rate must be greater than -1"),
    ({"lapse": -2}, r"lapse must be positive"),
    ({"lapse": 13}, r"no customer has been observed for more than lapse=13 periods of 'M'"),
    ({"retention": 0.9, "lapse": 3}, r"pass either retention= or lapse=, not both"),
    ({"horizon": 2e6}, r"spans more than 1,000,000 cash-flow periods; express it in a"),
    ({"horizon": "12"}, r"horizon must be a real number, got '12'"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_refused(rfm: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(ArgumentError, match=message):
        simple_clv(rfm, **kwargs)


def test_lapse_longer_than_every_observation(rfm: pd.DataFrame) -> None:
    # the longest T is 12 months
    with pytest.raises(ArgumentError, match=r"lapse=12\.5 .*longest T is 12\), .*pass a shorter"):
        retention_rate(rfm, lapse=12.5)
    # nobody observed for 6 months
    young = rfm.assign(recency=[3.0, 0.0, 2.0, 3.0], T=[4.0, 4.0, 4.0, 5.0])
    with pytest.raises(ArgumentError, match=r"no customer .* pass a shorter lapse= or retention="):
        simple_clv(young)
    # the fix the message names works
    assert simple_clv(young, retention=0.9)["simple_clv"].ge(0).all()
    assert retention_rate(young, lapse=2.0).events == 3  # A: 3 + 2 > 4; B, C, D lapse


def test_no_time_unit(rfm: pd.DataFrame) -> None:
    bare = rfm.copy()
    bare.attrs = {}
    for call in (simple_clv, retention_rate):
        with pytest.raises(ArgumentError, match=r"does not record its time unit; pass time_unit="):
            call(bare)
    with pytest.raises(ArgumentError, match=r"simple_expected_purchases: the RFM table does not"):
        simple_expected_purchases(bare, 2.0)
    # the fix works: the same result as the table that records it
    pd.testing.assert_frame_equal(simple_clv(bare, time_unit="M"), simple_clv(rfm))
    with pytest.raises(UnitMismatchError, match=r"time_unit='W' contradicts the RFM table"):
        simple_clv(rfm, time_unit="W")


def test_bad_tables_are_refused(rfm: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match=r"monetary_value"):
        simple_clv(rfm.drop(columns="monetary_value"))
    with pytest.raises(DataValidationError, match=r"column 'T': is 0 for every customer"):
        retention_rate(rfm.assign(frequency=0, recency=0.0, T=0.0))
    with pytest.raises(DataValidationError, match=r"column 'recency': exceeds T"):
        simple_clv(rfm.assign(recency=[11.0, 0.0, 2.0, 3.0]))
    huge = rfm.assign(monetary_value=[1e308, 0.0, 50.0, 15.0])
    # A's own value overflows, and B's (x = 0) through the population AOV
    with pytest.raises(DataValidationError, match=r"beyond the floating-point range.*ids A, B"):
        simple_clv(huge)


def test_simple_expected_purchases_bad_t(rfm: pd.DataFrame) -> None:
    with pytest.raises(ArgumentError, match=r"one per customer \(4\), got shape \(2,\)"):
        simple_expected_purchases(rfm, [1.0, 2.0])
    with pytest.raises(ArgumentError, match=r"got shape \(2, 2\)"):
        simple_expected_purchases(rfm, [[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ArgumentError, match=r"t=2e\+06 spans more than 1,000,000 periods"):
        simple_expected_purchases(rfm, 2e6)
    with pytest.raises(ArgumentError, match=r"t must be positive"):
        simple_expected_purchases(rfm, 0.0)


def test_nobody_repeated_gives_zero_not_nan(rfm: pd.DataFrame) -> None:
    # no repeat purchase: the population AOV is undefined (0/0) but the rate is 0
    none = rfm.assign(frequency=0, recency=0.0, monetary_value=0.0)
    out = simple_clv(none, level="average")
    assert np.isfinite(out.to_numpy()).all() and (out.to_numpy() == 0).all()


# --- properties ---------------------------------------------------------------------


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 6))
    rows = []
    for _ in range(n):
        big_t = draw(st.floats(0.5, 40.0))
        x = draw(st.integers(0, 8))
        t_x = draw(st.floats(0.01, 1.0)) * big_t if x > 0 else 0.0
        m = draw(st.floats(0.5, 300.0)) if x > 0 else 0.0
        rows.append((x, t_x, big_t, m))
    rfm = pd.DataFrame(rows, columns=["frequency", "recency", "T", "monetary_value"])
    rfm.attrs["clvlab"] = {"time_unit": "M"}
    return rfm


settings_ = settings(max_examples=40, deadline=None)


@settings_
@given(
    rfm=tables(),
    horizon=st.floats(0.1, 48.0),
    extra=st.floats(0.0, 24.0),
    r=st.floats(0.0, 1.0),
    dr=st.floats(0.0, 1.0),
    d=st.floats(-0.05, 0.05),
    level=st.sampled_from(["customer", "average"]),
)
def test_monotone_and_finite(
    rfm: pd.DataFrame, horizon: float, extra: float, r: float, dr: float, d: float, level: Level
) -> None:
    def run(h: float, retention: float, rate: float) -> pd.DataFrame:
        return simple_clv(rfm, horizon=h, retention=retention, discount_rate=rate, level=level)

    base, longer = run(horizon, r, d), run(horizon + extra, r, d)
    better, undiscounted = run(horizon, r + (1 - r) * dr, d), run(horizon, r, 0.0)
    for out in (base, longer, better, undiscounted):
        values = out.to_numpy()
        assert np.isfinite(values).all() and (values >= 0).all()
    for column in ("simple_clv", "lifespan_clv"):
        assert (longer[column] >= base[column] * (1 - 1e-12)).all()
        assert (better[column] >= base[column] * (1 - 1e-12)).all()
    # undiscounted, the simple CLV is at most the lifespan CLV:
    # sum_k w_k r^k <= min(horizon, r / (1 - r)) <= min(horizon, 1 / (1 - r))
    simple, lifespan = undiscounted["simple_clv"], undiscounted["lifespan_clv"]
    assert (simple <= lifespan * (1 + 1e-12) + 1e-12).all()


@settings_
@given(rfm=tables(), horizon=st.floats(0.1, 48.0), r=st.floats(0.0, 1.0))
def test_average_total_is_the_population_formula(
    rfm: pd.DataFrame, horizon: float, r: float
) -> None:
    out = simple_clv(rfm, horizon=horizon, retention=r, margin=0.3, level="average")
    x, m, big_t = rfm["frequency"], rfm["monetary_value"], rfm["T"]
    # N x margin x sum(x m) / sum(T) x multiple: AOV x rate = sum(x m)/sum(x) x sum(x)/sum(T)
    population = len(rfm) * 0.3 * float((x * m).sum() / big_t.sum())
    assert out["simple_clv"].sum() == pytest.approx(
        population * margin_multiple(r, horizon), rel=1e-9, abs=1e-12
    )
    customer = simple_clv(rfm, horizon=horizon, retention=r, margin=0.3)
    # both levels share the historic value
    pd.testing.assert_series_equal(out["historic_clv"], customer["historic_clv"])


@settings_
@given(rfm=tables(), lapse=st.floats(0.1, 30.0))
def test_retention_is_a_probability_with_consistent_counts(rfm: pd.DataFrame, lapse: float) -> None:
    if not (rfm["T"] >= lapse).any():
        with pytest.raises(ArgumentError, match="no customer has been observed"):
            retention_rate(rfm, lapse=lapse)
        return
    est = retention_rate(rfm, lapse=lapse)
    assert 0 <= est.rate <= 1 and 0 <= est.events <= len(rfm)
    assert 0 < est.exposure <= rfm["T"].sum() * (1 + 1e-12)
    assert est.rate == pytest.approx(math.exp(-est.events / est.exposure))


def test_a_hand_built_estimate_is_checked() -> None:
    # exp(-1 / 9.49) = 0.9000 a month; a year is 12 months: 0.9^12
    est = RetentionEstimate(0.9, 1, 9.49, 6.0, "months", 3)
    assert est.unit == "M" and est.per_period("Y") == pytest.approx(0.9**12, rel=1e-12)
    with pytest.raises(ArgumentError, match=r"exposure must be positive, got 0\.0"):
        RetentionEstimate(0.9, 1, 0.0, 6.0, "M", 3)
    with pytest.raises(ArgumentError, match=r"rate must lie in \[0, 1\], got 1\.2"):
        RetentionEstimate(1.2, 1, 9.0, 6.0, "M", 3)
    with pytest.raises(ArgumentError, match=r"events \(4\) cannot exceed customers \(3\)"):
        RetentionEstimate(0.9, 4, 9.0, 6.0, "M", 3)


def test_not_a_table() -> None:
    with pytest.raises(DataValidationError, match=r"expected a pandas DataFrame, got dict"):
        simple_clv({"frequency": [1]})  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match=r"expected a pandas DataFrame, got list"):
        retention_rate([1, 2])  # type: ignore[arg-type]
