"""`clvlab bench` with every registered purchase model: configs name a model of
``clvlab.purchase_models()``, rows say which, recovery is scored only for the model that
generated the data, and a bad entry is refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clvlab
from clvlab.bench import _markdown, _run_cell, load_config, run_bench
from clvlab.models.base import METHODS
from tests._family import CONTINUOUS

TWO_MODELS = """
[run]
output = "out"
seeds = [1]

[[datasets]]
name = "cdnow-sample"
source = "cdnow_sample"
calibration_end = "1997-09-30"
observation_end = "1998-06-30"

[[models]]
method = "mle"
options = { n_draws = 200 }

[[models]]
model = "pnbd"
options = { n_draws = 200 }
"""

SIMULATED = {
    "name": "sim",
    "source": "simulated",
    "n_customers": 1000,
    "params": {"r": 0.8, "alpha": 6.0, "a": 0.9, "b": 3.0},
}


def _config(tmp_path: Path, models: str, datasets: str | None = None) -> Path:
    path = tmp_path / "bench.toml"
    data = datasets or '[[datasets]]\nsource = "cdnow_sample"\n'
    path.write_text(f'[run]\noutput = "out"\n\n{data}\n{models}')
    return path


def test_defaults_come_from_the_registry(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[[models]]\n[[models]]\nmodel = "mbgnbd"\n'))
    first, second = config["models"]
    assert (first["model"], first["method"], first["name"]) == ("bgnbd", "mle", "bgnbd-mle-0")
    assert (second["model"], second["method"], second["name"]) == ("mbgnbd", "mle", "mbgnbd-mle-1")


def test_every_registered_model_and_method_is_accepted(tmp_path: Path) -> None:
    # every continuous-time model: the bench's datasets are continuous (CDNOW, simulated)
    entries = "".join(
        f'[[models]]\nmodel = "{m}"\nmethod = "{k}"\n' for m in CONTINUOUS for k in METHODS
    )
    config = load_config(_config(tmp_path, entries))
    names = [m["name"] for m in config["models"]]
    assert len(names) == len(set(names)) == len(CONTINUOUS) * len(METHODS)
    assert all(m["name"].startswith(f"{m['model']}-{m['method']}-") for m in config["models"])


def test_a_model_runs_only_on_datasets_of_its_kind(tmp_path: Path) -> None:
    discrete = [n for n in clvlab.purchase_models() if n not in CONTINUOUS]
    assert discrete == ["bgbb", "sbg"]
    for name in discrete:  # the default dataset is CDNOW: continuous time
        with pytest.raises(
            clvlab.ArgumentError, match=rf"'{name}' is a \w+-time model, but dataset .*continuous"
        ):
            load_config(_config(tmp_path, f'[[models]]\nmodel = "{name}"\n'))
    on_contracts = '[[datasets]]\nsource = "fh07_retention"\n'
    with pytest.raises(clvlab.ArgumentError, match=r"'bgbb' is a discrete-time .*fh07_retention"):
        load_config(_config(tmp_path, '[[models]]\nmodel = "bgbb"\n', on_contracts))
    with pytest.raises(clvlab.ArgumentError, match=r"params must be a table of BG/BB"):
        load_config(
            _config(
                tmp_path,
                '[[models]]\nmodel = "bgbb"\n',
                '[[datasets]]\nsource = "simulated_opportunities"\nparams = { r = 1.0 }\n',
            )
        )


def test_bgbb_recovers_its_simulated_parameters_and_sbg_runs_on_fh07(tmp_path: Path) -> None:
    # BG/BB on histories drawn from it (FHS 2010's estimates): recovery is scored
    dataset = {"name": "opp", "source": "simulated_opportunities", "n_customers": 3000}
    row = _run_cell(dataset, {"name": "m", "model": "bgbb", "method": "mle"}, seed=2)
    assert row["purchase_model"] == "bgbb" and row["customers"] == 3000
    assert {"rel_error_alpha", "covered_delta"} <= set(row)
    assert all(abs(row[f"rel_error_{p}"]) < 0.5 for p in ("alpha", "beta", "gamma", "delta"))
    assert "tracking_mape" not in row  # no day-level log in discrete time
    # sBG on Fader & Hardie (2007) Table 1: the real holdout years 8-12 (3,123 renewals,
    # the table's survivors summed over years 8-12)
    fh07 = {"name": "fh07", "source": "fh07_retention"}
    row = _run_cell(fh07, {"name": "s", "model": "sbg", "method": "mle"}, seed=1)
    assert row["actual_total"] == 3123 and row["customers"] == 2000
    assert abs(row["predicted_total"] / 3123 - 1) < 0.05
    assert not any(k.startswith("rel_error") for k in row)  # no truth for real data


@pytest.mark.parametrize(
    ("models", "message"),
    [
        (
            'model = "paretonbd"',
            r"models\[0\]: unknown purchase model 'paretonbd'; "
            r"use one of \['bgbb', 'bgnbd', 'mbgnbd', 'pnbd', 'sbg'\]",
        ),
        ("model = 3", r"models\[0\]: unknown purchase model 3; use one of \['bgbb', 'bgnbd'"),
        ('model = ["pnbd"]', r"models\[0\]: unknown purchase model \['pnbd'\]"),
        (
            'method = "hmc"',
            r"models\[0\]: unknown method 'hmc'; use one of \['mle', 'nuts', 'advi', 'map'\]",
        ),
        ('method = "MLE"', r"unknown method 'MLE'"),
        (
            "options = { draw = 10 }",
            r"models\[0\]: options must be a table of BetaGeo.fit arguments, one of \[.*'draws'",
        ),
        ('options = { method = "nuts" }', r"options must be a table of BetaGeo.fit arguments"),
        ('options = "fast"', r"options must be a table"),
        # Pareto/NBD has no a or b: the prior is refused, naming its parameters
        (
            'model = "pnbd"\npriors = { a = { dist = "HalfFlat" } }',
            r"models\[0\]: a prior was given for 'a', which is not a parameter of "
            r"Pareto/NBD; its parameters are \['r', 'alpha', 's', 'beta'\]",
        ),
        ('priors = { r = "HalfFlat" }', r"models\[0\]: a prior must be \{'dist'"),
        (
            'priors = { r = { dist = "Normal", kwargs = { mu = 0, sigma = 1 } } }',
            r"models\[0\]: the prior of 'r' is Normal",
        ),
    ],
)
def test_bad_model_entries_are_refused_up_front(tmp_path: Path, models: str, message: str) -> None:
    path = _config(tmp_path, f"[[models]]\n{models}\n")
    with pytest.raises(clvlab.ArgumentError, match=message):
        run_bench(path, progress=False)
    assert not (tmp_path / "out").exists()  # refused before any cell ran


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[models]]\nname = "a"\n[[models]]\nname = "a"\nmodel = "pnbd"\n',
            r"models: the names \['a'\] are used more than once",
        ),
        (
            '[[models]]\n[[models]]\nname = "bgnbd-mle-0"\n',
            r"the names \['bgnbd-mle-0'\] are used more than once",
        ),
    ],
)
def test_repeated_names_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(clvlab.ArgumentError, match=message):
        load_config(_config(tmp_path, text))


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        (
            'source = "simulated"\nparams = { z = 1.0 }',
            r"datasets\[0\]: params must be a table of the simulation's parameters "
            r"\['r', 'alpha', 'a', 'b', 'p', 'q', 'v'\]",
        ),
        ('source = "simulated"\nparams = { r = -1.0 }', r"datasets\[0\].params.r must be"),
        (
            'source = "simulated"\nn_customers = 0',
            r"datasets\[0\].n_customers must be an integer >= 1",
        ),
        ('source = "simulated"\ncalibration_weeks = "39"', r"datasets\[0\].calibration_weeks"),
        (
            'source = "cdnow"',
            r"datasets\[0\]: source must be one of "
            r"\['cdnow_sample', 'cdnow_master', 'simulated', 'simulated_opportunities', "
            r"'fh07_retention'\], got 'cdnow'",
        ),
    ],
)
def test_bad_dataset_entries_are_refused(tmp_path: Path, dataset: str, message: str) -> None:
    path = _config(tmp_path, "[[models]]\n", f"[[datasets]]\n{dataset}\n")
    with pytest.raises(clvlab.ArgumentError, match=message):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[run]\nseeds = []\n[[datasets]]\nsource = 'cdnow_sample'\n[[models]]\n",
            r"run.seeds must be a list",
        ),
        (
            "[run]\nseeds = [1.5]\n[[datasets]]\nsource = 'cdnow_sample'\n[[models]]\n",
            r"run.seeds\[0\] must be an integer >= 0",
        ),
        ("datasets = [1]\n[[models]]\n", r"datasets must be an array of tables"),
        (
            "[[datasets]]\nsource = 'cdnow_sample'\n",
            r"needs at least one \[\[datasets\]\] and \[\[models\]\]",
        ),
    ],
)
def test_bad_config_shapes_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(text)
    with pytest.raises(clvlab.ArgumentError, match=message):
        load_config(path)


@settings(max_examples=40)
@given(name=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12))
def test_any_unregistered_name_is_refused_naming_the_known_ones(name: str) -> None:
    import tempfile

    if name in clvlab.purchase_models():
        return
    with tempfile.TemporaryDirectory() as tmp:
        # every character as a TOML \UXXXXXXXX escape: valid for any non-surrogate
        quoted = '"' + "".join(f"\\U{ord(c):08X}" for c in name) + '"'
        path = _config(Path(tmp), f"[[models]]\nmodel = {quoted}\n")
        with pytest.raises(
            clvlab.ArgumentError, match=r"use one of \['bgbb', 'bgnbd', 'mbgnbd', 'pnbd', 'sbg'\]"
        ):
            load_config(path)


def test_recovery_is_scored_only_for_the_generating_model() -> None:
    """The simulation is BG/NBD: MBG/NBD's a and b share the names, not the meaning."""
    rows = {
        m: _run_cell(
            dict(SIMULATED),
            {"name": m, "model": m, "method": "mle", "options": {"n_draws": 200}},
            1,
        )
        for m in ("bgnbd", "mbgnbd")
    }
    truth = SIMULATED["params"]
    bg, mbg = rows["bgnbd"], rows["mbgnbd"]
    assert (bg["purchase_model"], mbg["purchase_model"]) == ("bgnbd", "mbgnbd")
    assert bg["fit_method"] == mbg["fit_method"] == "mle"
    assert sorted(k for k in bg if k.startswith("rel_error_")) == sorted(
        f"rel_error_{p}" for p in truth
    )
    assert not [k for k in mbg if k.startswith(("rel_error_", "covered_"))]
    # 1,000 simulated customers: each estimate within 40% of its truth (wide on purpose;
    # the relative errors above are the estimate over the truth minus 1, by definition)
    assert all(abs(bg[f"rel_error_{p}"]) < 0.4 for p in truth)


def test_markdown_shows_the_purchase_model_and_dashes_for_missing() -> None:
    table = pd.DataFrame(
        [
            {
                "dataset": "d",
                "seed": 1,
                "model": "x",
                "purchase_model": "bgnbd",
                "method": "mle",
                "fit_method": "mle",
                "purchases_rmse": 1.5,
                "rel_error_r": 0.1,
            },
            {
                "dataset": "d",
                "seed": 1,
                "model": "y",
                "purchase_model": "pnbd",
                "method": "mle",
                "fit_method": "nuts",
                "purchases_rmse": 1.25,
            },
        ]
    )
    md = _markdown(table)
    header, _, first, second = md.splitlines()
    assert header.split(" | ") == [
        *("| dataset", "seed", "model", "purchase_model", "method", "fit_method"),
        *("purchases_rmse", "rel_error_r |"),
    ]
    assert first == "| d | 1 | x | bgnbd | mle | mle | 1.5 | 0.1 |"
    assert second == "| d | 1 | y | pnbd | mle | nuts | 1.25 | – |"
    # no fallback anywhere: no fit_method column
    assert "fit_method" not in _markdown(table.assign(fit_method="mle"))


@pytest.mark.slow
def test_two_purchase_models_give_one_row_each(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text(TWO_MODELS)
    table = run_bench(path, progress=False)
    assert list(table["model"]) == ["bgnbd-mle-0", "pnbd-mle-1"]
    assert list(table["purchase_model"]) == ["bgnbd", "pnbd"]
    assert list(table["method"]) == list(table["fit_method"]) == ["mle", "mle"]
    assert (table["customers"] == 2357).all()  # the CDNOW sample's customers
    assert not [c for c in table if c.startswith(("rel_error_", "covered_"))]  # real data
    bg = table.set_index("purchase_model").loc["bgnbd"]
    # BTYD walkthrough (Fader, Hardie & Lee 2005 on the CDNOW sample): 1,653-1,654
    # expected holdout purchases against 1,882 actual
    assert 1653 <= bg["predicted_total"] <= 1654 and bg["actual_total"] == 1882
    on_disk = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(on_disk["purchase_model"]) == ["bgnbd", "pnbd"]
    md = (tmp_path / "out" / "results.md").read_text().splitlines()
    assert md[0].startswith("| dataset | seed | model | purchase_model | method | fit_seconds |")
    assert len(md) == 4 and "| pnbd | mle |" in md[3]
