"""Customer ids: one text form per id, from the RFM summary to messages and exports."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import clvlab
from clvlab.data.ids import factorize_ids, id_text, id_texts


def _log(ids: list[object]) -> pd.DataFrame:
    dates = pd.date_range("2020-01-01", periods=len(ids), freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame({"customer_id": pd.Series(ids, dtype=object), "date": dates})


def test_ids_with_one_text_form_are_refused() -> None:
    # 7 and "7" were two customers in the RFM table but one key in the export.
    log = _log([7, "7", 8])
    before = log.copy(deep=True)
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"column 'customer_id': different customer ids have the same text form '7': "
        r"7 \(int\) and '7' \(str\) would become one key in an export \(2 rows\)\. "
        r"Convert the column to one type first: \.astype\(str\)",
    ):
        clvlab.rfm_summary(log, time_unit="D")
    pd.testing.assert_frame_equal(log, before)
    # the fix the message gives works: one customer 7 with a repeat purchase a day later
    fixed = log.assign(customer_id=log["customer_id"].astype(str))
    rfm = clvlab.rfm_summary(fixed, time_unit="D")
    assert rfm.loc["7"].to_dict() == {"frequency": 1, "recency": 1.0, "T": 2.0}


def test_equal_ids_that_print_differently_are_refused() -> None:
    # pandas groups True with 1, but they would leave clvlab as "True" and "1"
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"customer ids that Python treats as equal print differently: 1 \(int\) and "
        r"True \(bool\) would be merged",
    ):
        clvlab.rfm_summary(_log([1, True, 2]), time_unit="D")


def test_equal_ids_with_one_text_form_are_one_customer() -> None:
    # 7 and 7.0 are equal and both print as 7: one customer, kept as first given
    rfm = clvlab.rfm_summary(_log([7, 7.0, np.int64(7), 8]), time_unit="D")
    assert [id_text(i) for i in rfm.index] == ["7", "8"]
    assert rfm.iloc[0]["frequency"] == 2


def test_float_ids_are_kept_and_print_as_ids() -> None:
    # pandas reads an integer id column holding nulls as float
    log = pd.DataFrame(
        {
            "customer_id": [14527.0, 14527.0, 14530.0, np.nan],
            "date": ["2020-01-01", "2020-01-03", "2020-01-02", "2020-01-02"],
            "spend": [5.0, -1.0, -2.0, 3.0],
        }
    )
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"customer id is null \(1 row, index label 3\)\. drop these rows",
    ):
        clvlab.rfm_summary(log)
    clean = log.dropna()
    with pytest.raises(
        clvlab.DataValidationError,
        match=r"'spend': monetary value is negative \(2 rows, customer ids 14527, 14530; "
        r"values -1, -2\)",
    ) as info:
        clvlab.rfm_summary(clean, monetary_value_col="spend")
    assert "14527.0" not in str(info.value)
    assert info.value.examples == [14527.0, 14530.0]  # the ids as given
    rfm = clvlab.rfm_summary(clean.assign(spend=1.0), time_unit="D")
    assert rfm.index.dtype == np.float64  # not silently changed
    assert list(rfm.index) == [14527.0, 14530.0]


def test_examples_name_each_customer_once() -> None:
    log = pd.DataFrame(
        {"customer_id": ["a", "a", "a", "b"], "date": ["2020-01-01", None, None, None]}
    )
    with pytest.raises(
        clvlab.DataValidationError, match=r"date is null \(3 rows, e\.g\. customer ids a, b\)"
    ):
        clvlab.rfm_summary(log)


def test_validate_rfm_rejects_a_duplicated_index() -> None:
    table = pd.DataFrame(
        {"frequency": [0, 1, 2], "recency": [0.0, 3.0, 4.0], "T": [5.0, 6.0, 7.0]},
        index=pd.Index([14527.0, 14530.0, 14527.0], name="customer_id"),
    )
    before = table.copy(deep=True)
    for invalid in ("raise", "drop"):
        with pytest.raises(
            clvlab.DataValidationError,
            match=r"column 'customer_id': customer id \(the index\) is duplicated: each "
            r"customer needs exactly one row \(2 rows, e\.g\. customer id 14527\)",
        ):
            clvlab.validate_rfm(table, invalid=invalid)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(table, before)


def test_validate_rfm_rejects_colliding_and_null_ids() -> None:
    base = {"frequency": [0, 1], "recency": [0.0, 3.0], "T": [5.0, 6.0]}
    with pytest.raises(clvlab.DataValidationError, match=r"same text form '7'"):
        clvlab.validate_rfm(pd.DataFrame(base, index=pd.Index([7, "7"], dtype=object)))
    with pytest.raises(
        clvlab.DataValidationError, match=r"'<index>': customer id \(the index\) is null"
    ):
        clvlab.validate_rfm(pd.DataFrame(base, index=pd.Index(["a", None], dtype=object)))


def test_fitting_refuses_a_duplicated_rfm_index(cdnow_summary: pd.DataFrame) -> None:
    doubled = pd.concat([cdnow_summary.iloc[:50], cdnow_summary.iloc[:50]])
    with pytest.raises(clvlab.DataValidationError, match=r"is duplicated"):
        clvlab.BetaGeo().fit(doubled, method="mle")


def test_data_validation_error_survives_pickling() -> None:
    err = clvlab.DataValidationError(
        "spend", "monetary value is negative", 3, [14527.0], "fix it", example_values=[-1.0]
    )
    back = pickle.loads(pickle.dumps(err))
    assert (
        str(back)
        == str(err)
        == (
            "column 'spend': monetary value is negative (3 rows, e.g. customer id 14527; "
            "value -1). fix it"
        )
    )
    assert (back.examples, back.example_values) == ([14527.0], [-1.0])
    assert not back.droppable


@given(st.lists(st.integers(-(2**53), 2**53), min_size=1, max_size=30))
def test_integer_ids_have_one_text_form_in_every_dtype(values: list[int]) -> None:
    # oracle: Python's str of the integer
    expected = [str(v) for v in values]
    assert id_texts(np.array(values, dtype=np.int64)).tolist() == expected
    assert id_texts(np.array(values, dtype=float)).tolist() == expected
    assert id_texts(np.array(values, dtype=object)).tolist() == expected
    assert [id_text(float(v)) for v in values] == expected


@given(
    st.lists(
        st.one_of(st.integers(0, 20), st.text("0123456789ab", min_size=1, max_size=2)),
        min_size=1,
        max_size=30,
    )
)
def test_factorize_ids_refuses_exactly_the_collisions(values: list[object]) -> None:
    array = np.array(values, dtype=object)
    texts = {id_text(v) for v in values}
    typed = {(type(v), v) for v in values}
    if len(texts) == len(typed):
        codes, uniques = factorize_ids(array, "id")
        assert [id_text(u) for u in uniques] == list(dict.fromkeys(id_text(v) for v in values))
        assert [id_text(uniques[c]) for c in codes] == [id_text(v) for v in values]
    else:
        with pytest.raises(clvlab.DataValidationError, match="same text form"):
            factorize_ids(array, "id")
