"""Groups: CLV and its parts per channel / cohort, and differences on paired draws.

Every expected value is recomputed from :func:`clvlab.clv` (and the per-customer
prediction methods) customer by customer, with the sums, means and counts done by hand
in the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.decisions import acquisition_cohorts, compare_groups
from clvlab.decisions.groups import GROUP_METRICS
from clvlab.inference.draws import interval
from tests._family import CONTINUOUS, fit_mle

#: One month in weeks: 365.25 / 12 days of 7 days (clvlab.units' calendar).
MONTH_IN_WEEKS = 365.25 / 12 / 7
#: Six CDNOW sample customers with different histories: x = 2, 1, 0, 7, 5 and the heavy
#: buyer 1516 (x = 26).
IDS = [1, 2, 3, 6, 11, 1516]
#: A channel for each of them (simulated): a group of 3, one of 2 and one of 1.
CHANNEL = ["web", "shop", "web", "shop", "mail", "web"]


@pytest.fixture(scope="module")
def small(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    table = cdnow_sample_rfm.loc[IDS].copy()
    table["channel"] = CHANNEL
    return table


def _draw_matrix(draws) -> np.ndarray:  # type: ignore[no-untyped-def]
    """``(n_draws, n_customers)`` from clv's ``(chain, draw, customer_id)`` draws."""
    return draws.stack(s=("chain", "draw")).transpose("s", "customer_id").to_numpy()


def _widened(values: np.ndarray, estimate: float, ci: float, kind: str) -> tuple[float, float]:
    """The interval of ``values`` widened to contain ``estimate`` (as clv's tables are)."""
    lo, hi = interval(values, ci, kind)  # type: ignore[arg-type]
    return min(float(lo), estimate), max(float(hi), estimate)


# --- hand computations -----------------------------------------------------------------


def test_mle_groups_equal_sums_of_customer_predictions(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    result = compare_groups(bg, gg, small, by="channel", horizon=6, discount_rate=0.01)
    groups = result.groups
    # per-customer values from the public per-customer API, summed by hand
    clv = clvlab.clv(bg, gg, small, horizon=6, discount_rate=0.01)["estimate"]
    purchases = bg.expected_purchases(small, 6 * MONTH_IN_WEEKS)["estimate"]
    alive = bg.probability_alive(small)["estimate"]
    spend = gg.expected_spend(small)["estimate"]
    channel = small["channel"]
    assert groups.index.tolist() == ["mail", "shop", "web"]  # sorted labels
    for name, members in channel.groupby(channel).groups.items():
        row = groups.loc[name]
        assert row["customers"] == len(members)
        assert row["share"] == pytest.approx(len(members) / 6)
        assert row["clv_total_estimate"] == pytest.approx(clv[members].sum(), rel=1e-9)
        assert row["clv_mean_estimate"] == pytest.approx(clv[members].mean(), rel=1e-9)
        assert row["purchases_mean_estimate"] == pytest.approx(purchases[members].mean(), rel=1e-9)
        assert row["probability_alive_mean_estimate"] == pytest.approx(
            alive[members].mean(), rel=1e-12
        )
        assert row["spend_mean_estimate"] == pytest.approx(spend[members].mean(), rel=1e-12)
        for metric in GROUP_METRICS:
            lo, est, hi = (row[f"{metric}_{s}"] for s in ("lower", "estimate", "upper"))
            assert lo <= est <= hi
    # the largest group ("web", 3 customers) is the reference by default
    assert result.settings["reference"] == "web"
    assert result.settings["estimate"] == "plug-in at the MLE"
    # hand: difference of the plug-in group means
    diff = result.differences.set_index(["group", "metric"])
    assert diff.loc[("shop", "clv_mean"), "estimate"] == pytest.approx(
        clv[channel == "shop"].mean() - clv[channel == "web"].mean(), rel=1e-9
    )
    assert set(diff["reference"]) == {"web"}
    assert len(diff) == 2 * 4  # two non-reference groups x four mean metrics


def test_group_of_one_has_the_customers_clv_interval(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    # "mail" holds customer 11 only: its total is that customer's CLV, draw by draw, so
    # the same interval as clv's row (same draws, same widening to the estimate)
    row = compare_groups(bg, gg, small, by="channel").groups.loc["mail"]
    own = clvlab.clv(bg, gg, small).loc[11]
    assert row["clv_total_estimate"] == pytest.approx(own["estimate"], rel=1e-9)
    assert row["clv_total_lower"] == pytest.approx(own["lower"], rel=1e-9)
    assert row["clv_total_upper"] == pytest.approx(own["upper"], rel=1e-9)
    assert row["clv_mean_lower"] == pytest.approx(own["lower"], rel=1e-9)


@pytest.mark.parametrize(("ci_prob", "kind"), [(0.9, "eti"), (0.5, "hdi")])
def test_bayesian_groups_and_differences_from_paired_draws(
    bg_map: clvlab.BetaGeo,
    gg_map: clvlab.GammaGamma,
    cdnow_sample_rfm: pd.DataFrame,
    ci_prob: float,
    kind: str,
) -> None:
    rfm = cdnow_sample_rfm.iloc[:120]
    channel = pd.Series(np.array(["a", "b", "c"])[np.arange(120) % 3], index=rfm.index)
    channel.iloc[:9] = "b"  # "b" is the largest group, hence the default reference
    result = compare_groups(
        bg_map, gg_map, rfm, by=channel, ci_prob=ci_prob, kind=kind, sampling=False
    )  # type: ignore[arg-type]
    _, draws = clvlab.clv(bg_map, gg_map, rfm, return_draws=True)
    d = _draw_matrix(draws)
    assert d.shape == (200, 120)
    _, p_draws = bg_map.expected_purchases(rfm, 12 * MONTH_IN_WEEKS, return_draws=True)
    pd_ = _draw_matrix(p_draws)
    means = {}
    for g in "abc":
        members = (channel == g).to_numpy()
        total = d[:, members].sum(axis=1)  # per draw: the sum of the customers' draws
        row = result.groups.loc[g]
        # Bayesian estimate: the posterior mean of the per-draw totals
        assert row["clv_total_estimate"] == pytest.approx(total.mean(), rel=1e-9)
        lo, hi = _widened(total, total.mean(), ci_prob, kind)
        assert row["clv_total_lower"] == pytest.approx(lo, rel=1e-9)
        assert row["clv_total_upper"] == pytest.approx(hi, rel=1e-9)
        assert row["purchases_mean_estimate"] == pytest.approx(
            pd_[:, members].mean(axis=1).mean(), rel=1e-9
        )
        means[g] = (d[:, members].mean(axis=1), pd_[:, members].mean(axis=1))
    assert result.settings["reference"] == "b"
    assert result.settings["estimate"] == "posterior mean"
    diffs = result.differences.set_index(["group", "metric"])
    for g in "ac":
        for metric, k in (("clv_mean", 0), ("purchases_mean", 1)):
            diff = means[g][k] - means["b"][k]  # paired: draw j minus draw j
            row = diffs.loc[(g, metric)]
            assert row["estimate"] == pytest.approx(diff.mean(), rel=1e-9, abs=1e-12)
            lo, hi = _widened(diff, diff.mean(), ci_prob, kind)
            assert row["lower"] == pytest.approx(lo, rel=1e-9, abs=1e-12)
            assert row["upper"] == pytest.approx(hi, rel=1e-9, abs=1e-12)
            # p_greater: the draws with a larger group value, counted directly
            assert row["p_greater"] == np.count_nonzero(diff > 0) / 200
    assert result.groups.attrs["clvlab"]["ci_prob"] == ci_prob
    assert result.groups.attrs["clvlab"]["interval"] == kind


def test_per_draw_totals_match_clv_draws_for_mle(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    result = compare_groups(bg, gg, small, by="channel", ci_prob=0.8)
    table, draws = clvlab.clv(bg, gg, small, return_draws=True)
    d = _draw_matrix(draws)
    web = (small["channel"] == "web").to_numpy()
    total = d[:, web].sum(axis=1)
    estimate = table["estimate"][web].sum()  # MLE: the sum of the plug-in estimates
    lo, hi = _widened(total, estimate, 0.8, "eti")
    row = result.groups.loc["web"]
    assert row["clv_total_lower"] == pytest.approx(lo, rel=1e-9)
    assert row["clv_total_upper"] == pytest.approx(hi, rel=1e-9)


# --- properties -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forty(cdnow_sample_rfm: pd.DataFrame) -> pd.DataFrame:
    return cdnow_sample_rfm.iloc[::59].iloc[:40]


@pytest.fixture(scope="module")
def forty_clv(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, forty: pd.DataFrame) -> pd.Series:
    return clvlab.clv(bg, gg, forty)["estimate"]


@settings(max_examples=30)
@given(st.lists(st.integers(0, 4), min_size=40, max_size=40))
def test_group_totals_add_up_for_any_assignment(
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    forty: pd.DataFrame,
    forty_clv: pd.Series,
    assignment: list[int],
) -> None:
    labels = pd.Series(assignment, index=forty.index, name="segment")
    result = compare_groups(bg, gg, forty, by=labels, sampling=False)
    groups = result.groups
    # hand: each group's total is the sum of its customers' clv estimates
    expected = forty_clv.groupby(labels.to_numpy()).sum()
    assert groups.index.tolist() == sorted(set(assignment))
    np.testing.assert_allclose(groups["clv_total_estimate"], expected.to_numpy(), rtol=1e-9)
    assert groups["customers"].sum() == 40
    assert groups["share"].sum() == pytest.approx(1.0)
    assert groups["clv_total_estimate"].sum() == pytest.approx(forty_clv.sum(), rel=1e-9)
    assert (
        (groups["probability_alive_mean_lower"] >= 0)
        & (groups["probability_alive_mean_upper"] <= 1)
    ).all()
    assert (result.differences["p_greater"].between(0, 1)).all()
    assert len(result.differences) == 4 * (len(groups) - 1)


# --- kinds of labels -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected_index", "reference"),
    [
        ([3, 1, 3, 1, 2, 3], [1, 2, 3], 3),
        ([0.5, 2.0, 0.5, 2.0, 7.25, 0.5], [0.5, 2.0, 7.25], 0.5),
        ([True, False, True, False, False, False], [False, True], False),
        (
            pd.Categorical(["x", "y", "x", "y", "x", "x"], categories=["y", "x", "unused"]),
            ["y", "x"],  # the categories' order, without the unused one
            "x",
        ),
    ],
)
def test_label_types(
    bg: clvlab.BetaGeo,
    gg: clvlab.GammaGamma,
    small: pd.DataFrame,
    labels: object,
    expected_index: list[object],
    reference: object,
) -> None:
    by = pd.Series(labels, index=small.index, name="attribute")
    result = compare_groups(bg, gg, small, by=by)
    assert result.groups.index.tolist() == expected_index
    assert result.settings["reference"] == reference  # the largest group
    assert result.settings["by"] == "attribute"
    clv = clvlab.clv(bg, gg, small)["estimate"]
    for g in expected_index:
        members = (by == g).to_numpy()
        assert result.groups.loc[g, "clv_total_estimate"] == pytest.approx(
            clv[members].sum(), rel=1e-9
        )


def test_reference_given_in_its_text_form(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    by = pd.Series([3, 1, 3, 1, 2, 3], index=small.index)
    for reference in (1, "1", 1.0, np.int64(1)):
        result = compare_groups(bg, gg, small, by=by, reference=reference)
        assert result.settings["reference"] == 1
        assert set(result.differences["group"]) == {2, 3}


def test_ids_as_text_join_integer_ids(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    # a channel file read with ids as text, extra customers ignored
    as_text = pd.Series([*CHANNEL, "web"], index=[*map(str, IDS), "99999"], name="channel")
    by_text = compare_groups(bg, gg, small, by=as_text).groups
    by_column = compare_groups(bg, gg, small, by="channel").groups
    pd.testing.assert_frame_equal(by_text, by_column)


def test_one_group_and_one_customer(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    everyone = compare_groups(bg, gg, small, by=pd.Series("all", index=small.index))
    assert everyone.groups.index.tolist() == ["all"]
    assert everyone.differences.empty
    assert list(everyone.differences.columns) == [
        "group",
        "reference",
        "metric",
        "estimate",
        "lower",
        "upper",
        "p_greater",
    ]
    # hand: the total over everyone is clv's total
    assert everyone.groups.loc["all", "clv_total_estimate"] == pytest.approx(
        clvlab.clv(bg, gg, small).attrs["clvlab"]["total"]["estimate"], rel=1e-9
    )
    single = compare_groups(bg, gg, small.iloc[:1], by="channel")
    assert single.groups["customers"].tolist() == [1]


def test_only_one_time_buyers(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    zero = cdnow_sample_rfm[cdnow_sample_rfm["frequency"] == 0].iloc[:10]
    result = compare_groups(bg, gg, zero, by=pd.Series(["a", "b"] * 5, index=zero.index))
    # every one-time buyer of the same T has the same CLV, P(alive) = 1 (BG/NBD, FHL 2005
    # eq. 11 with x = 0) and the population mean spend p v / (q - 1) (Fader & Hardie 2013)
    ps = gg.point_params()
    np.testing.assert_allclose(result.groups["probability_alive_mean_estimate"], 1.0)
    np.testing.assert_allclose(
        result.groups["spend_mean_estimate"], ps["p"] * ps["v"] / (ps["q"] - 1), rtol=1e-12
    )
    assert np.isfinite(result.differences[["estimate", "lower", "upper"]].to_numpy()).all()


# every continuous-time model on CDNOW; BG/BB on its own data: tests/test_model_family.py
@pytest.mark.parametrize("name", CONTINUOUS)
def test_every_purchase_model(
    name: str, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame, small: pd.DataFrame
) -> None:
    model = fit_mle(name, cdnow_sample_rfm)
    result = compare_groups(model, gg, small, by="channel", horizon=3)
    clv = clvlab.clv(model, gg, small, horizon=3)["estimate"]
    for g, members in small.groupby("channel").groups.items():
        assert result.groups.loc[g, "clv_total_estimate"] == pytest.approx(
            clv[members].sum(), rel=1e-9
        )


# --- acquisition cohorts ----------------------------------------------------------------


def test_cohorts_are_first_purchase_months(
    cdnow_sample: pd.DataFrame, cdnow_sample_rfm: pd.DataFrame
) -> None:
    cohorts = acquisition_cohorts(cdnow_sample_rfm)
    # hand: the month of each customer's first transaction in the log
    first = pd.to_datetime(cdnow_sample["date"]).groupby(cdnow_sample["customer_id"]).min()
    expected = first.dt.to_period("M").astype(str).reindex(cdnow_sample_rfm.index)
    assert (cohorts == expected).all()
    assert cohorts.name == "cohort"
    assert sorted(cohorts.unique()) == ["1997-01", "1997-02", "1997-03"]
    assert set(acquisition_cohorts(cdnow_sample_rfm, "Q")) == {"1997Q1"}
    assert set(acquisition_cohorts(cdnow_sample_rfm, "Y")) == {"1997"}
    # the same labels from a table that does not record them, given explicitly
    bare = cdnow_sample_rfm.iloc[:50].copy()
    bare.attrs = {}
    given_ = acquisition_cohorts(bare, calibration_end="1997-09-30", time_unit="W")
    assert (given_ == expected.iloc[:50]).all()


def test_cohort_groups(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    rfm = cdnow_sample_rfm.iloc[::20]
    result = compare_groups(bg, gg, rfm)  # by="cohort" is the default
    cohorts = acquisition_cohorts(rfm)
    counts = cohorts.value_counts()
    assert result.settings["by"] == "cohort"
    assert result.groups["customers"].to_dict() == counts.sort_index().to_dict()
    assert result.settings["reference"] == counts.idxmax()


def test_cohorts_refuse(cdnow_sample_rfm: pd.DataFrame) -> None:
    bare = cdnow_sample_rfm.iloc[:5].copy()
    bare.attrs = {}
    with pytest.raises(
        clvlab.ArgumentError,
        match=r"does not record its calibration_end and time_unit"
        r".*acquisition_cohorts\(rfm, calibration_end=",
    ):
        acquisition_cohorts(bare)
    with pytest.raises(
        clvlab.ArgumentError, match=r"period must be one of \['M', 'Q', 'Y'\], got 'W'"
    ):
        acquisition_cohorts(cdnow_sample_rfm, "W")
    with pytest.raises(clvlab.ArgumentError, match=r"calibration_end must be a date.*got 'soon'"):
        acquisition_cohorts(bare, calibration_end="soon", time_unit="W")
    with pytest.raises(clvlab.ArgumentError, match=r"time_unit='D' contradicts the RFM table.*'W'"):
        acquisition_cohorts(cdnow_sample_rfm.iloc[:5], time_unit="D")
    broken = cdnow_sample_rfm.iloc[:5].copy()
    broken.loc[broken.index[0], "T"] = np.nan
    with pytest.raises(clvlab.DataValidationError, match=r"column 'T'"):
        acquisition_cohorts(broken)


def test_cohort_groups_without_metadata_say_how(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    bare = small.copy()
    bare.attrs = {}
    # the time unit given to compare_groups reaches the cohorts; the end is still missing
    with pytest.raises(
        clvlab.ArgumentError,
        match=r"does not record its calibration_end;.*by=clvlab\.acquisition_cohorts",
    ):
        compare_groups(bg, gg, bare, by="cohort", time_unit="W")
    # the fix the message names works
    cohorts = acquisition_cohorts(bare, calibration_end="1997-09-30", time_unit="W")
    result = compare_groups(bg, gg, bare, by=cohorts, time_unit="W")
    assert result.groups["customers"].sum() == 6


# --- refusals ---------------------------------------------------------------------------


def test_refuses_bad_groups(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame) -> None:
    with pytest.raises(
        clvlab.ArgumentError,
        match=r"group column 'country' is not in the RFM table"
        r".*channel.*Series indexed by customer id",
    ):
        compare_groups(bg, gg, small, by="country")
    with pytest.raises(clvlab.ArgumentError, match=r"by must be a column name.*got list"):
        compare_groups(bg, gg, small, by=CHANNEL)  # type: ignore[arg-type]
    partial = pd.Series(CHANNEL[:4], index=IDS[:4], name="channel")
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"column 'channel': has no group for some customers"
        r" \(2 rows, customer ids 11, 1516\)",
    ):
        compare_groups(bg, gg, small, by=partial)
    dup = pd.Series([*CHANNEL, "web"], index=[*IDS, 1], name="channel")
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"gives more than one group to a customer id"
        r" \(1 row, customer id 1\).*drop_duplicates",
    ):
        compare_groups(bg, gg, small, by=dup)
    # 7 and "7" are one customer id in text form: two groups for customer 1
    dup_text = pd.Series([*CHANNEL, "web"], index=[*IDS, "1"], name="channel", dtype=object)
    with pytest.raises(clvlab.DataValidationError, match=r"more than one group to a customer id"):
        compare_groups(bg, gg, small, by=dup_text)
    with_nan = small.assign(channel=["web", None, "web", "shop", np.nan, "web"])
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"column 'channel': has no group for some customers"
        r" \(2 rows, customer ids 2, 11\).*fillna",
    ):
        compare_groups(bg, gg, with_nan, by="channel")
    with pytest.raises(
        clvlab.ArgumentError,
        match=r"reference group 'tv' is not among the groups of 'channel' \(mail, shop, web\)",
    ):
        compare_groups(bg, gg, small, by="channel", reference="tv")
    clash = pd.Series([1, "1", 1, "1", 2, 2], index=small.index, name="code", dtype=object)
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"column 'code': has different groups with the same text form"
        r" \(1 and '1'\).*astype\(str\)",
    ):
        compare_groups(bg, gg, small, by=clash)


def test_refuses_bad_settings(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    # the longest history is 38.86 weeks: 5 x that is 194.3 weeks = 44.68 months
    with pytest.raises(
        clvlab.ArgumentError, match=r"longest customer history is 38\.8571 W.*at most 44\.68 M"
    ):
        compare_groups(bg, gg, small, by="channel", horizon=45)
    compare_groups(bg, gg, small, by="channel", horizon=44)  # within the limit
    with pytest.raises(clvlab.ArgumentError, match=r"ci_prob must lie strictly between 0 and 1"):
        compare_groups(bg, gg, small, by="channel", ci_prob=1.0)
    with pytest.raises(clvlab.ArgumentError, match=r"kind must be 'eti'.*or 'hdi'"):
        compare_groups(bg, gg, small, by="channel", kind="mode")  # type: ignore[arg-type]
    with pytest.raises(clvlab.ArgumentError, match=r"margin must lie in \(0, 1\]"):
        compare_groups(bg, gg, small, by="channel", margin=0)


def test_refuses_bad_models(bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame) -> None:
    with pytest.raises(clvlab.ArgumentError, match=r"compare_groups: the models are swapped"):
        compare_groups(gg, bg, small, by="channel")  # type: ignore[arg-type]
    with pytest.raises(clvlab.NotFittedError, match=r"not fitted yet; call fit"):
        compare_groups(clvlab.BetaGeo(), gg, small, by="channel")
    bare = small.copy()
    bare.attrs = {}
    with pytest.raises(
        clvlab.UnitMismatchError, match=r"does not record its time unit.*time_unit='W'"
    ):
        compare_groups(bg, gg, bare, by="channel")


# --- output and inputs ---------------------------------------------------------------------


def test_output_types_and_html(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    result = compare_groups(bg, gg, small, by="channel")
    assert result.groups["customers"].dtype == np.int64
    floats = [c for c in result.groups.columns if c != "customers"]
    assert all(result.groups[c].dtype == np.float64 for c in floats)
    assert result.groups.index.name == "group"
    for c in ("estimate", "lower", "upper", "p_greater"):
        assert result.differences[c].dtype == np.float64
    html = result._repr_html_()
    assert "not the causal effect of a campaign" in html
    assert result.settings["note"] == "compares customers, not the causal effect of a campaign"


def test_inputs_are_not_mutated(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, small: pd.DataFrame
) -> None:
    table = small.copy()
    table.attrs = {"clvlab": dict(small.attrs["clvlab"])}
    by = pd.Series(CHANNEL, index=IDS, name="channel")
    before, by_before = table.copy(), by.copy()
    attrs_before = {"clvlab": dict(table.attrs["clvlab"])}
    compare_groups(bg, gg, table, by=by)
    compare_groups(bg, gg, table, by="cohort")
    pd.testing.assert_frame_equal(table, before)
    pd.testing.assert_series_equal(by, by_before)
    assert table.attrs == attrs_before


# ---- sampling: the chance in which customers a group happened to get ---------------------


def test_sampling_error_is_the_standard_error_of_each_group_mean(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    from clvlab.decisions.groups import _standard_errors
    from clvlab.decisions.value import CustomerValue

    rfm = cdnow_sample_rfm
    labels = pd.Series(np.random.default_rng(5).choice(["a", "b", "c"], len(rfm)), index=rfm.index)
    codes, _ = pd.factorize(labels, sort=True)
    value = CustomerValue(bg, gg, rfm)
    se = _standard_errors(value, codes, 3)
    # hand computation: sd (ddof=1) of the customers' clv() estimates / sqrt(n) per group
    estimates = clvlab.clv(bg, gg, rfm)["estimate"]
    for g, name in enumerate(["a", "b", "c"]):
        group = estimates[labels == name]
        assert se["clv_mean"][g] == pytest.approx(group.std(ddof=1) / np.sqrt(len(group)), rel=1e-9)


def test_random_channels_do_not_look_different_with_sampling(
    bg: clvlab.BetaGeo, gg: clvlab.GammaGamma, cdnow_sample_rfm: pd.DataFrame
) -> None:
    rfm = cdnow_sample_rfm
    # channels assigned at random (simulated): no channel brings better customers
    random_channel = pd.Series(
        np.random.default_rng(0).choice(["search", "social"], len(rfm)),
        index=rfm.index,
        name="channel_simulated",
    )
    with_sampling = compare_groups(bg, gg, rfm, by=random_channel, seed=3)
    without = compare_groups(bg, gg, rfm, by=random_channel, sampling=False)
    diff = with_sampling.differences.set_index("metric").loc["clv_mean"]
    bare = without.differences.set_index("metric").loc["clv_mean"]
    # the same estimate; the interval with the sampling error is wider and covers 0
    assert diff["estimate"] == pytest.approx(bare["estimate"])
    assert diff["upper"] - diff["lower"] > 3 * (bare["upper"] - bare["lower"])
    assert diff["lower"] < 0 < diff["upper"]
    assert 0.05 < diff["p_greater"] < 0.95
    # totals describe these customers: no sampling term
    pd.testing.assert_series_equal(
        with_sampling.groups["clv_total_upper"], without.groups["clv_total_upper"]
    )
    # reproducible for a seed
    again = compare_groups(bg, gg, rfm, by=random_channel, seed=3)
    pd.testing.assert_frame_equal(again.differences, with_sampling.differences)
    with pytest.raises(clvlab.ArgumentError, match="sampling must be True or False"):
        compare_groups(bg, gg, rfm, by=random_channel, sampling="yes")  # type: ignore[arg-type]
