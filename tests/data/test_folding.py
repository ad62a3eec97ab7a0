"""Folding customers with equal (frequency, recency, T) into weighted rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

import clvlab


def test_fold_round_trip(cdnow_summary: pd.DataFrame) -> None:
    folded = clvlab.fold(cdnow_summary)
    assert folded.weights.sum() == len(cdnow_summary)
    assert len(folded) < len(cdnow_summary)
    for col in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(folded.unfold(folded.column(col)), cdnow_summary[col])


def test_fold_counts_duplicates() -> None:
    table = pd.DataFrame(
        {"frequency": [0, 0, 3, 0], "recency": [0.0, 0.0, 4.0, 0.0], "T": [9.0, 9.0, 9.0, 8.0]}
    )
    folded = clvlab.fold(table)
    assert folded.rows.to_dict("list") == {
        "frequency": [0, 0, 3],
        "recency": [0.0, 0.0, 4.0],
        "T": [8.0, 9.0, 9.0],
        "weight": [1.0, 2.0, 1.0],
    }
    assert folded.inverse.tolist() == [1, 1, 2, 0]


def test_fold_respects_existing_weights() -> None:
    donations = clvlab.datasets.load_donations()
    folded = clvlab.fold(donations, ("frequency", "recency", "periods"), donations["weight"])
    # Source: Fader, Hardie & Shang (2010): 11,104 donors.
    assert folded.weights.sum() == 11104


def test_fold_scales_to_many_customers() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    table = pd.DataFrame(
        {
            "frequency": rng.integers(0, 50, n),
            "recency": rng.integers(0, 52, n) / 7,
            "T": rng.integers(0, 52, n) / 7,
        }
    )
    folded = clvlab.fold(table)
    keys = set(map(tuple, table.to_numpy()))
    assert len(folded) == len(keys)
    np.testing.assert_array_equal(folded.unfold(folded.column("T")), table["T"])
