"""clvlab.BetaGeoBetaBinom: the published donations fit, folding, discrete-data refusals."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import clvlab
from tests import _family as family


@pytest.fixture(scope="module")
def donations() -> pd.DataFrame:
    """The 22 folded donations rows expanded by weight: 11,104 donors (FHS 2010)."""
    rows = clvlab.datasets.load_donations()
    rfm = rows.loc[rows.index.repeat(rows["weight"])].rename(columns={"periods": "T"})
    rfm = rfm[["frequency", "recency", "T"]].reset_index(drop=True)
    rfm.attrs["clvlab"] = {"kind": "discrete", "time_unit": "Y"}
    return rfm


@pytest.fixture(scope="module")
def fitted(donations: pd.DataFrame) -> clvlab.BetaGeoBetaBinom:
    return clvlab.BetaGeoBetaBinom().fit(donations, seed=1, progress=False)


def test_mle_reproduces_the_published_donations_fit(fitted: clvlab.BetaGeoBetaBinom) -> None:
    # Fader, Hardie & Shang (2010), section 4: 1.204, 0.750, 0.657, 2.783; LL -33,225.6
    est = fitted.params_["estimate"]
    for name, value in family.FHS_2010.items():
        assert round(float(est[name]), 3) == value
    assert round(fitted.log_likelihood_, 1) == -33225.6
    assert fitted.n_customers_ == 11_104 and fitted.n_rows_ == 22
    assert fitted.fit_info_["mle_quality"]["ok"]
    assert "bgbb" in clvlab.purchase_models() and clvlab.BetaGeoBetaBinom.name == "bgbb"


def test_folded_equals_unfolded(fitted: clvlab.BetaGeoBetaBinom, donations: pd.DataFrame) -> None:
    # the folded weighted likelihood is the sum over the 11,104 donors
    per_donor = family.loglik_per_customer(fitted, donations)
    assert fitted.log_likelihood_ == pytest.approx(per_donor.sum(), rel=1e-12)
    # the folded rows weighted by hand: the same fit as from the expanded table
    rows = clvlab.datasets.load_donations().rename(columns={"periods": "T"})
    data = fitted.prepare(donations)
    assert sorted(data.weights.astype(int)) == sorted(rows["weight"].tolist())


def test_discrete_tables_are_refused_with_the_fix(donations: pd.DataFrame) -> None:
    model = clvlab.BetaGeoBetaBinom()
    before = donations.copy()
    cdnow = clvlab.datasets.load_cdnow_summary()
    with pytest.raises(clvlab.DataValidationError, match=r"records kind.*opportunity_summary"):
        model.fit(cdnow.assign().pipe(_with_kind, "rfm"), progress=False)
    hand = donations.astype(float)
    hand.attrs = {}
    hand.loc[0, "T"] = 5.5
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"column 'T': is not a whole number of opportunities.*opportunity_summary",
    ):
        model.fit(hand, progress=False)
    more = donations.copy()
    more.attrs = {}
    row = more.index[more["frequency"] == 3][0]
    more.loc[row, "recency"] = 2
    with pytest.raises(clvlab.DataValidationError, match=r"column 'frequency': exceeds recency"):
        model.fit(more, progress=False)
    pd.testing.assert_frame_equal(donations, before)
    # a hand-built table of whole numbers is accepted
    plain = donations.copy()
    plain.attrs = {}
    assert model.prepare(plain).n_customers == 11_104


def _with_kind(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {"clvlab": {"kind": kind, "time_unit": "W"}}
    return out


def test_horizons_must_be_whole_opportunities(
    fitted: clvlab.BetaGeoBetaBinom, donations: pd.DataFrame
) -> None:
    message = r"t = 2.5 is not a whole number of opportunities.*unit='Y'"
    with pytest.raises(clvlab.ArgumentError, match=message):
        fitted.expected_purchases(donations, 2.5)
    with pytest.raises(clvlab.ArgumentError, match=r"t = 0.5 is not a whole number"):
        fitted.probability_alive(donations, 0.5)
    with pytest.raises(clvlab.ArgumentError, match=r"t = 1.5 is not a whole number"):
        fitted.expected_purchases_new_customer([1.0, 1.5])
    rfm = family.donations_rfm(family.donations_log())
    spend = clvlab.GammaGamma().fit(rfm, seed=1, progress=False, n_draws=100)
    model = clvlab.BetaGeoBetaBinom().fit(rfm, seed=1, progress=False, n_draws=100)
    # 12 months are not whole years: refused, naming unit='Y'
    for call in (clvlab.clv, clvlab.predict_customers):
        with pytest.raises(
            clvlab.ArgumentError,
            match=r"end of a cash-flow period \(horizon=.*unit='M'\) = .*unit='Y'",
        ):
            call(model, spend, rfm)
    # a quarter is a fourth of a yearly opportunity (units.py): refused too
    with pytest.raises(clvlab.ArgumentError, match=r"unit='Q'\) = 0.25 is not a whole number"):
        clvlab.clv(model, spend, rfm, horizon=8, unit="Q", seed=1)
    yearly = clvlab.clv(model, spend, rfm, horizon=2, unit="Y", seed=1)
    assert np.isfinite(yearly["estimate"]).all() and (yearly["estimate"] >= 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("method", ["nuts", "map", "advi"])
def test_bayesian_fits_agree_with_the_mle(
    method: str, fitted: clvlab.BetaGeoBetaBinom, donations: pd.DataFrame
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", clvlab.SamplingWarning)  # deliberately short
        model = clvlab.BetaGeoBetaBinom().fit(
            donations, method=method, seed=1, progress=False, draws=300, tune=300
        )
    table = model.params_
    mle = fitted.params_["estimate"]
    # the MLE lies inside each Bayesian 90% interval (FHS 2010's estimates, 11,104 donors)
    assert ((table["lower"] <= mle) & (mle <= table["upper"])).all()
