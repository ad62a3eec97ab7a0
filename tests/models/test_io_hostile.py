"""``clvlab.load`` treats a model file as untrusted input (issue 12, items 2 and 9).

Hostile files are built here with h5py directly: arrays that declare billions of values,
data kept in other files, bad draws and every kind of malformed metadata. Each must raise
:class:`clvlab.ModelFileError` naming the problem and the fix, and nothing else.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.io import MAX_ARRAY_BYTES, MAX_DRAWS, _digest
from clvlab.units import check_time_units, model_time_unit

FIX = r"re-save it with model\.save\(path\) from a fitted model"
NAMES = ("r", "alpha", "a", "b")


@pytest.fixture(scope="module")
def model(cdnow_summary: pd.DataFrame) -> clvlab.BetaGeo:
    return clvlab.BetaGeo().fit(cdnow_summary, method="mle", seed=1, progress=False)


@pytest.fixture(scope="module")
def saved(model: clvlab.BetaGeo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("saved") / "bg.nc"
    model.save(str(path))
    return path


@pytest.fixture(scope="module")
def meta(saved: Path) -> dict[str, Any]:
    with h5py.File(saved, "r") as f:
        return json.loads(f.attrs["clvlab"])


def _copy(saved: Path, tmp_path: Path, name: str = "m.nc") -> Path:
    path = tmp_path / name
    shutil.copyfile(saved, path)
    return path


def _draws(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        return {n: np.asarray(f[n][()], dtype=float) for n in NAMES}


def _write_meta(path: Path, text: str | bytes, *, rehash: bool) -> None:
    """Replace the JSON metadata; ``rehash`` also rewrites the digest, as a hostile
    author who knows the format would, so the metadata checks themselves are tested."""
    draws = _draws(path)
    with h5py.File(path, "r+") as f:
        del f.attrs["clvlab"]
        if isinstance(text, bytes):
            f.attrs["clvlab"] = np.bytes_(text)
        else:
            f.attrs["clvlab"] = text
        if rehash and isinstance(text, str):
            f.attrs["clvlab_sha256"] = _digest(text, draws)


def _mutated(saved: Path, tmp_path: Path, change: Callable[[dict[str, Any]], Any]) -> Path:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r") as f:
        data = json.loads(f.attrs["clvlab"])
    result = change(data)
    _write_meta(path, json.dumps(data if result is None else result), rehash=True)
    return path


def _same_results(loaded: Any, model: clvlab.BetaGeo, rfm: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(loaded.params_, model.params_)
    pd.testing.assert_frame_equal(loaded.covariance_, model.covariance_)
    for name in NAMES:
        np.testing.assert_array_equal(loaded.draws_[name].to_numpy(), model.draws_[name])
    assert (loaded.method_, loaded.n_customers_, loaded.n_rows_, loaded.log_likelihood_) == (
        model.method_,
        model.n_customers_,
        model.n_rows_,
        model.log_likelihood_,
    )
    pd.testing.assert_frame_equal(
        loaded.expected_purchases(rfm.head(5), 10), model.expected_purchases(rfm.head(5), 10)
    )


# ---- sizes are checked before anything is allocated ------------------------------------
def _huge_file(path: Path, meta: dict[str, Any], **layout: Any) -> None:
    with h5py.File(path, "w") as f:
        f.attrs["clvlab"] = json.dumps(meta)
        for name in NAMES:
            f.create_dataset(name, shape=(1, 2_000_000_000), dtype="f8", **layout)


@pytest.mark.parametrize(
    "layout",
    [{}, {"chunks": (1, 1_000_000), "compression": "gzip"}],
    ids=["contiguous", "chunked-gzip"],
)
def test_declared_billions_of_values_refused_without_allocating(
    meta: dict[str, Any], tmp_path: Path, layout: dict[str, Any]
) -> None:
    path = tmp_path / "bomb.nc"
    _huge_file(path, meta, **layout)
    # four arrays of 2e9 float64 would need 4 x 14.9 GiB; the file holds none of it
    assert path.stat().st_size < 16_000
    tracemalloc.start()
    try:
        with pytest.raises(
            clvlab.ModelFileError,
            match=rf"declares 2,000,000,000 values.*cap of {MAX_DRAWS:,} values.*{FIX}",
        ):
            clvlab.load(str(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # nothing near one array was allocated


def test_oversized_chunks_refused(meta: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "chunks.nc"
    with h5py.File(path, "w") as f:
        f.attrs["clvlab"] = json.dumps(meta)
        f.create_dataset(
            "r", shape=(1, 10), dtype="f8", maxshape=(None, None), chunks=(1, 10_000_000)
        )
    with pytest.raises(clvlab.ModelFileError, match=r"declares chunks of 10,000,000 values"):
        clvlab.load(str(path))


def test_total_size_capped(meta: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "many.nc"
    per_array = MAX_DRAWS * 8
    with h5py.File(path, "w") as f:
        f.attrs["clvlab"] = json.dumps(meta)
        for i in range(MAX_ARRAY_BYTES // per_array + 1):  # each under the per-array cap
            f.create_dataset(f"junk/x{i}", shape=(MAX_DRAWS,), dtype="f8")
    with pytest.raises(
        clvlab.ModelFileError, match=rf"more than the cap of {MAX_ARRAY_BYTES:,} bytes together"
    ):
        clvlab.load(str(path))


def test_object_count_capped(meta: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "objects.nc"
    with h5py.File(path, "w") as f:
        f.attrs["clvlab"] = json.dumps(meta)
        for i in range(1_001):
            f.create_group(f"g{i}")
    with pytest.raises(clvlab.ModelFileError, match=r"more than 1000 HDF5 objects"):
        clvlab.load(str(path))


# ---- never read another file -------------------------------------------------------------
def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.bin"
    np.full(2000, 1.5).tofile(secret)
    return secret


def test_external_raw_data_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    secret = _secret(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["r"]
        f.create_dataset("r", shape=(1, 2000), dtype="f8", external=[(str(secret), 0, 16000)])
    with h5py.File(path, "r") as f:  # h5py itself would read the other file
        assert f["r"][0, 0] == 1.5
    with pytest.raises(
        clvlab.ModelFileError, match=rf"keeps its data in external file.*secret\.bin.*{FIX}"
    ):
        clvlab.load(str(path))


def test_virtual_dataset_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.full((1, 2000), 1.5)
    layout = h5py.VirtualLayout(shape=(1, 2000), dtype="f8")
    layout[:] = h5py.VirtualSource(str(other), "x", shape=(1, 2000))
    with h5py.File(path, "r+") as f:
        del f["r"]
        f.create_virtual_dataset("r", layout)
    with pytest.raises(clvlab.ModelFileError, match=rf"virtual dataset.*{FIX}"):
        clvlab.load(str(path))


@pytest.mark.parametrize("where", ["posterior", "r", "deep/inside/link"])
def test_external_link_refused(saved: Path, tmp_path: Path, where: str) -> None:
    path = _copy(saved, tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["r"] = np.full((1, 2000), 1.5)
    with h5py.File(path, "r+") as f:
        if where in f:
            del f[where]
        f[where] = h5py.ExternalLink(str(other), "/r")
    with pytest.raises(clvlab.ModelFileError, match=rf"external link to .*other\.h5.*{FIX}"):
        clvlab.load(str(path))


def test_soft_link_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r+") as f:
        f["extra"] = h5py.SoftLink("/r")
    with pytest.raises(clvlab.ModelFileError, match=r"'extra' is an HDF5 SoftLink"):
        clvlab.load(str(path))


def test_text_array_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r+") as f:
        f.create_dataset("notes", data=["x" * 100], dtype=h5py.string_dtype())
    with pytest.raises(clvlab.ModelFileError, match=r"array 'notes' has type object"):
        clvlab.load(str(path))


# ---- draws must be finite and inside the support -----------------------------------------
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (np.nan, "NaN or infinite"),
        (np.inf, "NaN or infinite"),
        (-0.5, r"<= 0, outside its support \(alpha > 0\)"),
        (0.0, r"<= 0, outside its support \(alpha > 0\)"),
    ],
)
def test_bad_draws_refused(saved: Path, tmp_path: Path, value: float, problem: str) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r+") as f:
        f["alpha"][0, [3, 7, 11]] = value
    with pytest.raises(
        clvlab.ModelFileError, match=rf"parameter 'alpha': 3 of 2000 draws are {problem}.*{FIX}"
    ):
        clvlab.load(str(path))


def test_draws_changed_after_saving_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r+") as f:
        f["b"][0, 0] = f["b"][0, 0] * 1.01  # still a valid draw, but not the saved one
    with pytest.raises(clvlab.ModelFileError, match=rf"changed after it was saved.*{FIX}"):
        clvlab.load(str(path))


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda f: f.__delitem__("b"), "has no draws of parameter 'b'"),
        (
            lambda f: (f.__delitem__("b"), f.create_dataset("b", data=np.ones(2000))),
            r"draws of 'b' must have shape \(chain, draw\), got \(2000,\)",
        ),
        (
            lambda f: (f.__delitem__("b"), f.create_dataset("b", data=np.ones((2, 5)))),
            r"draws of 'b' have shape \(2, 5\), the others \(1, 2000\)",
        ),
        (
            lambda f: (f.__delitem__("b"), f.create_dataset("b", data=np.ones((1, 2000), int))),
            r"draws of 'b' are int64, not floating point",
        ),
        (
            lambda f: f.create_dataset("s", data=np.ones((1, 2000))),
            r"arrays \['s'\] that are not parameters",
        ),
    ],
    ids=["missing", "1-d", "unequal", "integer", "extra"],
)
def test_malformed_draws_refused(
    saved: Path, tmp_path: Path, edit: Callable[[h5py.File], Any], problem: str
) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r+") as f:
        edit(f)
    with pytest.raises(clvlab.ModelFileError, match=rf"{problem}.*{FIX}"):
        clvlab.load(str(path))


# ---- malformed metadata --------------------------------------------------------------------
def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _drop(*path: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


METADATA_CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("list", lambda d: [d], r"metadata is a JSON list, not an object"),
    ("string", lambda d: "bgnbd", r"metadata is a JSON str, not an object"),
    ("no format", _drop("format"), r"unknown format None; this clvlab reads 'clvlab-model/1'"),
    ("format 2", _set(("format",), "clvlab-model/2"), r"unknown format 'clvlab-model/2'"),
    ("no model", _drop("model"), r"no field 'model'"),
    ("model type", _set(("model",), ["bgnbd"]), r"field 'model' must be text"),
    ("unknown model", _set(("model",), "paretonbd"), r"unknown model 'paretonbd'"),
    ("no settings", _drop("settings"), r"no field 'settings'"),
    ("settings list", _set(("settings",), [0.9]), r"field 'settings' must be an object"),
    ("ci_prob 1", _set(("settings", "ci_prob"), 1.0), r"'settings.ci_prob' is invalid"),
    ("ci_prob text", _set(("settings", "ci_prob"), "0.9"), r"'settings.ci_prob' is invalid"),
    ("kind", _set(("settings", "interval_kind"), "xyz"), r"'settings.interval_kind' is invalid"),
    ("priors list", _set(("settings", "priors"), []), r"'settings.priors' must be an object"),
    (
        "prior name",
        _set(("settings", "priors"), {"zz": {"dist": "Normal"}}),
        r"priors given for \['zz'\]",
    ),
    (
        "prior kwargs",
        _set(("settings", "priors"), {"r": {"dist": "Gamma", "kwargs": {"alpha": "x"}}}),
        r"prior of 'r' alpha",
    ),
    ("no method", _drop("method"), r"no field 'method'"),
    ("method", _set(("method",), "pickle"), r"'method' must be one of"),
    ("no fit_info", _drop("fit_info"), r"no field 'fit_info'"),
    ("fit_info list", _set(("fit_info",), []), r"'fit_info' must be an object"),
    ("seconds", _drop("fit_info", "seconds"), r"'fit_info.seconds' is invalid"),
    ("data list", _set(("fit_info", "data"), ["W"]), r"'fit_info.data' must be an object"),
    ("unit", _set(("fit_info", "data", "time_unit"), "fortnight"), r"unknown time unit"),
    ("unit type", _set(("fit_info", "data", "time_unit"), 7), r"time_unit' must be text"),
    ("fit method", _set(("fit_info", "method"), "nuts"), r"contradicts method 'mle'"),
    ("uncertainty", _set(("fit_info", "uncertainty"), 3), r"'laplace' or 'bootstrap'"),
    ("quality list", _set(("fit_info", "mle_quality"), [1]), r"'fit_info.mle_quality' must be"),
    (
        "quality problems",
        _set(("fit_info", "mle_quality"), {"ok": False}),
        r"no field 'fit_info.mle_quality.problems'",
    ),
    ("no n_customers", _drop("n_customers"), r"'n_customers' is invalid"),
    ("n_customers text", _set(("n_customers",), "2357"), r"'n_customers' is invalid"),
    ("n_rows float", _set(("n_rows",), 1.5), r"'n_rows' is invalid"),
    ("n_rows > n", _set(("n_rows",), 10**6), r"n_rows \(1000000\) exceeds n_customers"),
    ("no loglik", _drop("log_likelihood"), r"no field 'log_likelihood'"),
    ("loglik NaN", _set(("log_likelihood",), float("nan")), r"'log_likelihood' is invalid"),
    ("no params", _drop("params"), r"no field 'params'"),
    ("params list", _set(("params",), [1, 2]), r"'params' must be an object"),
    ("no parameter", _drop("params", "parameter"), r"no field 'params.parameter'"),
    (
        "parameter order",
        _set(("params", "parameter"), ["alpha", "r", "a", "b"]),
        r"params.parameter must list \['r', 'alpha', 'a', 'b'\] in order",
    ),
    ("no estimate", _drop("params", "estimate"), r"no field 'params.estimate'"),
    (
        "unequal lengths",
        _set(("params", "sd"), [0.1, 0.2]),
        r"params.sd must be a list of 4 numbers",
    ),
    ("params NaN", _set(("params", "estimate", 2), float("nan")), r"params.estimate\[a\]"),
    ("params inf", _set(("params", "upper", 0), float("inf")), r"params.upper\[r\]"),
    ("params text", _set(("params", "lower", 1), "1"), r"params.lower\[alpha\]"),
    ("estimate < 0", _set(("params", "estimate", 3), -2.0), r"params.estimate of \['b'\]"),
    ("sd < 0", _set(("params", "sd", 0), -0.1), r"params.sd of \['r'\] must be >= 0"),
    ("no covariance", _drop("covariance"), r"no field 'covariance'"),
    ("covariance 1x2", _set(("covariance",), [[1.0, 2.0]]), r"must be a 4x4 list of lists"),
    ("covariance 4x3", _set(("covariance",), [[1.0] * 3] * 4), r"must be a 4x4 list of lists"),
    ("covariance text", _set(("covariance",), "eye"), r"must be a 4x4 list of lists"),
    ("covariance NaN", _set(("covariance", 1, 2), float("nan")), r"covariance\[alpha\]\[a\]"),
    ("covariance inf", _set(("covariance", 0, 0), float("-inf")), r"covariance\[r\]\[r\]"),
]


@pytest.mark.parametrize(
    ("change", "problem"),
    [case[1:] for case in METADATA_CASES],
    ids=[case[0] for case in METADATA_CASES],
)
def test_malformed_metadata_refused(
    saved: Path, tmp_path: Path, change: Callable[[dict[str, Any]], Any], problem: str
) -> None:
    path = _mutated(saved, tmp_path, change)
    with pytest.raises(clvlab.ModelFileError, match=rf"{problem}.*re-save it with model\.save"):
        clvlab.load(str(path))


def test_metadata_changed_after_saving_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r") as f:
        data = json.loads(f.attrs["clvlab"])
    data["params"]["estimate"][0] *= 2  # valid, but not what was saved
    _write_meta(path, json.dumps(data), rehash=False)
    with pytest.raises(clvlab.ModelFileError, match=rf"changed after it was saved.*{FIX}"):
        clvlab.load(str(path))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (b"\xff\xfe{}", r"attribute 'clvlab' is not valid UTF-8"),
        ("{not json", r"metadata is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, r"metadata is not valid JSON"),
        ("", r"metadata is not valid JSON"),
    ],
    ids=["non-utf8", "broken", "deeply-nested", "empty"],
)
def test_unreadable_metadata_text_refused(
    saved: Path, tmp_path: Path, text: str | bytes, problem: str
) -> None:
    path = _copy(saved, tmp_path)
    _write_meta(path, text, rehash=True)
    with pytest.raises(clvlab.ModelFileError, match=rf"{problem}.*{FIX}"):
        clvlab.load(str(path))


def test_metadata_of_wrong_type_refused(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["clvlab"] = np.arange(3)
    with pytest.raises(clvlab.ModelFileError, match=r"'clvlab' is a ndarray, not text"):
        clvlab.load(str(path))


def test_plain_netcdf_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "plain.nc"
    with h5py.File(path, "w") as f:
        f["x"] = np.ones(3)
    with pytest.raises(clvlab.ModelFileError, match=rf"not a clvlab model file.*{FIX}"):
        clvlab.load(str(path))


def _as_nuts(saved: Path, tmp_path: Path, scale: float) -> Path:
    """The saved draws relabelled as a NUTS fit with a posterior group (``scale`` times
    the draws), built without sampling."""
    import xarray as xr

    def relabel(data: dict[str, Any]) -> None:
        data["method"] = data["fit_info"]["method"] = "nuts"

    path = _mutated(saved, tmp_path, relabel)

    draws = _draws(path)
    posterior = xr.Dataset({n: (("chain", "draw"), v * scale) for n, v in draws.items()})
    posterior.to_netcdf(path, engine="h5netcdf", mode="a", group="posterior")
    return path


def test_posterior_group_is_read_and_checked(saved: Path, tmp_path: Path) -> None:
    loaded = clvlab.load(str(_as_nuts(saved, tmp_path, 1.0)))
    np.testing.assert_array_equal(loaded.idata_.posterior["r"], loaded.draws_["r"])
    with pytest.raises(clvlab.ModelFileError, match=rf"posterior group's 'r' disagrees.*{FIX}"):
        clvlab.load(str(_as_nuts(saved, tmp_path, 2.0)))


# ---- paths and broken files ------------------------------------------------------------------
def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(clvlab.ModelFileError, match=r"no such file; check the path"):
        clvlab.load(tmp_path / "missing.nc")
    with pytest.raises(clvlab.ModelFileError, match=r"is a directory.*path of the saved"):
        clvlab.load(tmp_path)
    (tmp_path / "empty.nc").write_bytes(b"")
    with pytest.raises(clvlab.ModelFileError, match=rf"empty \(0 bytes\).*{FIX}"):
        clvlab.load(tmp_path / "empty.nc")
    with pytest.raises(clvlab.errors.ArgumentError, match=r"path must be a str or os.PathLike"):
        clvlab.load(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.999])
def test_truncated_files(saved: Path, tmp_path: Path, fraction: float) -> None:
    data = saved.read_bytes()
    path = tmp_path / "cut.nc"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(clvlab.ModelFileError, match=rf"truncated or corrupt.*{FIX}"):
        clvlab.load(str(path))


def test_not_hdf5(tmp_path: Path) -> None:
    path = tmp_path / "model.nc"
    path.write_text('{"format": "clvlab-model/1"}')
    with pytest.raises(clvlab.ModelFileError, match=r"not NetCDF-4/HDF5"):
        clvlab.load(str(path))


# ---- the time unit survives save/load ------------------------------------------------------
@pytest.mark.parametrize("unit", ["D", "M"])
def test_time_unit_round_trips(cdnow_summary: pd.DataFrame, tmp_path: Path, unit: str) -> None:
    rfm = cdnow_summary.copy()
    rfm.attrs = copy.deepcopy(cdnow_summary.attrs)
    rfm.attrs["clvlab"]["time_unit"] = unit  # relabelled: only the record is tested here
    fitted = clvlab.GammaGamma().fit(rfm, seed=1, progress=False)
    fitted.save(str(tmp_path / "gg.nc"))
    loaded = clvlab.load(str(tmp_path / "gg.nc"))
    assert loaded.fit_info_["data"]["time_unit"] == unit == model_time_unit(loaded)
    assert loaded.fit_info_ == fitted.fit_info_


def test_loaded_model_still_checks_units(
    saved: Path, model: clvlab.BetaGeo, cdnow_summary: pd.DataFrame
) -> None:
    loaded = clvlab.load(str(saved))
    assert model_time_unit(loaded) == "W" == model.fit_info_["data"]["time_unit"]
    monthly = cdnow_summary.copy()
    monthly.attrs = copy.deepcopy(cdnow_summary.attrs)
    monthly.attrs["clvlab"]["time_unit"] = "M"
    with pytest.raises(clvlab.errors.UnitMismatchError, match=r"fitted on an RFM table in weeks"):
        check_time_units(monthly, loaded)


@pytest.mark.parametrize(
    "change",
    [_drop("fit_info", "data", "time_unit"), _drop("fit_info", "data")],
    ids=["no time_unit", "no data record"],
)
def test_missing_time_unit_loads_as_unknown(
    saved: Path,
    tmp_path: Path,
    model: clvlab.BetaGeo,
    cdnow_summary: pd.DataFrame,
    change: Callable[[dict[str, Any]], Any],
) -> None:
    path = _mutated(saved, tmp_path, change)
    loaded = clvlab.load(str(path))
    assert "time_unit" not in loaded.fit_info_["data"]
    assert model_time_unit(loaded) is None  # unknown, not invented
    _same_results(loaded, model, cdnow_summary)


# ---- property: any change to the metadata loads the original or is refused -----------------
def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers(),  # unbounded: 10**400 must not overflow a float
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(0, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
)


def _mutate(data: st.DataObject, meta: dict[str, Any]) -> dict[str, Any]:
    mutated = copy.deepcopy(meta)
    target_path = data.draw(st.sampled_from(_paths(mutated)))
    parent = mutated
    for key in target_path[:-1]:
        parent = parent[key]
    if data.draw(st.booleans()):
        del parent[target_path[-1]]
    else:
        parent[target_path[-1]] = data.draw(JSON_VALUES)
    return mutated


def _usable(loaded: Any, rfm: pd.DataFrame) -> None:
    assert isinstance(loaded.summary(), str)
    purchases = loaded.expected_purchases(rfm.head(20), 10)
    alive = loaded.probability_alive(rfm.head(20))
    values = purchases[["estimate", "lower", "upper"]].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    p = alive[["estimate", "lower", "upper"]].to_numpy()
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


@settings(max_examples=60)
@given(data=st.data())
def test_mutated_metadata_loads_the_original_or_is_refused(
    data: st.DataObject,
    saved: Path,
    meta: dict[str, Any],
    model: clvlab.BetaGeo,
    cdnow_summary: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    path = _copy(saved, tmp_path_factory.mktemp("prop"))
    _write_meta(path, json.dumps(_mutate(data, meta)), rehash=False)
    try:
        loaded = clvlab.load(str(path))
    except clvlab.ModelFileError as exc:
        assert "re-save it with model.save(path)" in str(exc)
        return
    _same_results(loaded, model, cdnow_summary)
    _usable(loaded, cdnow_summary)


@settings(max_examples=60)
@given(data=st.data())
def test_hostile_metadata_loads_a_usable_model_or_is_refused(
    data: st.DataObject,
    saved: Path,
    meta: dict[str, Any],
    cdnow_summary: pd.DataFrame,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The author also rewrites the digest: every check of the metadata must hold."""
    path = _copy(saved, tmp_path_factory.mktemp("hostile"))
    mutated = _mutate(data, meta)
    _write_meta(path, json.dumps(mutated), rehash=True)
    try:
        loaded = clvlab.load(str(path))
    except clvlab.ModelFileError as exc:
        assert "re-save it with model.save(path)" in str(exc)
        return
    _usable(loaded, cdnow_summary)
    # what was loaded is what the file says, never silently changed
    table = pd.DataFrame(mutated["params"]).set_index("parameter")
    pd.testing.assert_frame_equal(loaded.params_, table, check_dtype=False)
    assert all(math.isfinite(v) for v in loaded.params_.to_numpy().ravel())
