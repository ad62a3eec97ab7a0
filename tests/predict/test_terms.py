"""Shared prediction terms: codes in fold order, contiguous gathers, split by draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clvlab.data.folding import fold
from clvlab.predict.terms import SharedTerm, distinct, gather


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(4, 6)), min_size=1))
def test_folded_rows_meet_the_codes_in_order(rows: list[tuple[int, int, int]]) -> None:
    table = pd.DataFrame(rows, columns=["frequency", "recency", "T"]).astype(float)
    codes, x, t_x, T = distinct(table, ("frequency", "recency", "T"))
    # every code names its row's values
    np.testing.assert_array_equal(x[codes], table["frequency"])
    np.testing.assert_array_equal(t_x[codes], table["recency"])
    np.testing.assert_array_equal(T[codes], table["T"])
    # the folded table (sorted) sees the codes 0, 1, 2, ...: every gather is a view
    folded = fold(table.assign(_row=codes), ("frequency", "recency", "T", "_row"))
    np.testing.assert_array_equal(folded.column("_row"), np.arange(len(folded)))


def test_gather_is_a_view_for_a_run_and_a_copy_otherwise() -> None:
    term = np.arange(12.0).reshape(2, 6)
    run = gather(term, np.array([2.0, 3.0, 4.0]))
    assert np.shares_memory(run, term)
    np.testing.assert_array_equal(run, term[:, 2:5])
    for codes in ([4, 1], [1, 1, 2], [0, 2, 3], [5]):
        np.testing.assert_array_equal(gather(term, np.array(codes)), term[:, codes])
    assert gather(term, np.array([], dtype=int)).shape == (2, 0)
    # the view of the shared term cannot be written through
    with pytest.raises(ValueError, match="read-only"):
        run[0, 0] = 1.0
    # codes out of range are an error, as for NumPy's indexing, never fewer columns;
    # negative codes count from the end, as in NumPy
    for codes in ([4, 5, 6], [5, 6, 7], [6]):
        with pytest.raises(IndexError):
            gather(term, np.array(codes))
    np.testing.assert_array_equal(gather(term, np.array([-2, -1])), term[:, [-2, -1]])


def test_distinct_keeps_rows_with_nan_apart() -> None:
    table = pd.DataFrame({"x": [1.0, np.nan, 2.0, np.nan], "T": [np.nan, 1.0, 1.0, 1.0]})
    codes, _, _ = distinct(table, ("x", "T"))
    assert len(set(codes.tolist())) == 3 and codes[1] == codes[3]


def test_a_term_split_by_draws_equals_the_term_split_by_keys() -> None:
    rng = np.random.default_rng(3)
    keys = rng.random(50)
    p = {"a": rng.random((400, 1)), "b": rng.random((400, 1))}

    def compute(part: slice, q: dict) -> np.ndarray:
        return np.log1p(q["a"] * keys[part]) + q["b"]

    by_keys = SharedTerm(compute, len(keys), ("a", "b"))(p)
    by_draws = SharedTerm(compute, len(keys), ("a", "b"), by_draws=True)(p)
    assert by_draws.shape == (400, 50)
    np.testing.assert_array_equal(by_draws, by_keys)
    # one draw (a plug-in estimate) is not split
    one = {"a": 0.5, "b": 0.25}
    np.testing.assert_array_equal(
        SharedTerm(compute, len(keys), ("a", "b"), by_draws=True)(one), compute(slice(None), one)
    )
