"""The generic compiled route (inference/graph_kernel.py).

Oracle: PyMC's own compilation of the same model (``compile_logp`` / ``compile_dlogp``,
pytensor's C backend), an independent path from the numba callback.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import clvlab
from clvlab.inference import bayes
from clvlab.inference.graph_kernel import _pack, graph_kernel
from clvlab.priors import Prior


def _pareto_model(rfm, priors=None):  # type: ignore[no-untyped-def]
    model = clvlab.ParetoNBD(priors=priors)
    data = model.prepare(rfm)
    return model, bayes.build_pymc_model(model, data, model._priors(data))


def _record_loads(monkeypatch) -> list[object]:  # type: ignore[no-untyped-def]
    """The ``graph`` of every callback load from now on (``None``: from numba's store)."""
    from clvlab.inference import graph_kernel as module

    graphs: list[object] = []
    load = module._load

    def spy(path, key, graph):  # type: ignore[no-untyped-def]
        graphs.append(graph)
        return load(path, key, graph)

    monkeypatch.setattr(module, "_load", spy)
    return graphs


@pytest.mark.slow
def test_callback_equals_pymc_logp_and_gradient(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    model, pymc_model = _pareto_model(cdnow_summary)
    kernel = graph_kernel(pymc_model, model.param_names)
    assert kernel is not None
    logp = pymc_model.compile_logp()
    dlogp = pymc_model.compile_dlogp()
    names = [pymc_model.rvs_to_values[pymc_model[n]].name for n in model.param_names]
    rng = np.random.default_rng(0)
    for u in [np.log([0.553, 10.578, 0.606, 11.669]), *rng.normal(1.0, 1.5, (3, 4))]:
        point = dict(zip(names, u, strict=True))
        value, grad = kernel.log_density(u)
        assert value == pytest.approx(float(logp(point)), rel=1e-10)
        np.testing.assert_allclose(grad, dlogp(point), rtol=1e-8, atol=1e-8)


@pytest.mark.slow
def test_first_build_compiles_and_a_second_loads_the_same_code(
    cdnow_summary, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # an empty store: the first build compiles (in a child process) and then loads the
    # stored callback, exactly as every later build does, so both give the same bits
    monkeypatch.setenv("CLVLAB_CACHE_DIR", str(tmp_path))
    model, pymc_model = _pareto_model(cdnow_summary)
    first = graph_kernel(pymc_model, model.param_names)
    assert first is not None
    assert list(tmp_path.rglob("*.nbi"))  # numba stored it under CLVLAB_CACHE_DIR
    graphs = _record_loads(monkeypatch)
    model, pymc_model = _pareto_model(cdnow_summary)
    again = graph_kernel(pymc_model, model.param_names)
    assert again is not None
    assert graphs == [None]  # numba's stored callback: no graph function was built
    for u in np.random.default_rng(0).normal(1.0, 1.0, (20, 4)):
        v1, g1 = first.log_density(u)
        v2, g2 = again.log_density(u)
        assert v1 == v2
        np.testing.assert_array_equal(g1, g2)


def test_a_prior_off_the_log_scale_is_left_to_nutpie(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    priors = {"r": Prior("TruncatedNormal", mu=0.5, sigma=1.0, lower=0.0)}
    model, pymc_model = _pareto_model(cdnow_summary, priors)
    assert graph_kernel(pymc_model, model.param_names) is None


def test_pack_lays_out_every_array_aligned_with_its_shape() -> None:
    arrays = [np.arange(3.0), np.arange(6, dtype=np.int64).reshape(2, 3), np.array([True, False])]
    buffer = _pack(arrays)
    raw = buffer.view(np.uint8)
    assert buffer[0] == raw.nbytes
    for i, arr in enumerate(arrays):
        offset, *shape = buffer[1 + 4 * i : 5 + 4 * i]
        assert offset % 8 == 0
        assert tuple(shape[: arr.ndim]) == arr.shape and all(s == 1 for s in shape[arr.ndim :])
        got = raw[offset : offset + arr.nbytes].view(arr.dtype).reshape(arr.shape)
        np.testing.assert_array_equal(got, arr)


@pytest.mark.slow
def test_pareto_nuts_runs_on_the_compiled_graph_and_is_reproducible(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    # FHL 2005 (CDNOW sample, MLE): r = 0.553, alpha = 10.578; the posterior centres there
    kw = {"method": "nuts", "draws": 300, "tune": 300, "seed": 3, "progress": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", clvlab.SamplingWarning)
        a = clvlab.ParetoNBD().fit(cdnow_summary, **kw)  # type: ignore[arg-type]
        b = clvlab.ParetoNBD().fit(cdnow_summary, **kw)  # type: ignore[arg-type]
    assert a.fit_info_["log_density"] == "compiled graph"
    assert "NUTS on the compiled graph" in a.summary()
    assert a.draws_.equals(b.draws_)
    assert a.params_.loc["r", "estimate"] == pytest.approx(0.553, rel=0.1)
    assert a.params_.loc["alpha", "estimate"] == pytest.approx(10.578, rel=0.1)


@pytest.mark.slow
def test_other_data_and_prior_centres_reuse_the_compiled_callback(
    cdnow_summary, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # the sizes and the priors' arguments are inputs: a data set of another size (and so
    # another default scale prior) loads the same callback and still gives PyMC's values
    model, pymc_model = _pareto_model(cdnow_summary)
    assert graph_kernel(pymc_model, model.param_names) is not None
    graphs = _record_loads(monkeypatch)
    subset = cdnow_summary.iloc[:1800]  # 790 folded rows, 714 of them on the shared nodes
    model, pymc_model = _pareto_model(subset)
    kernel = graph_kernel(pymc_model, model.param_names)
    assert kernel is not None and graphs == [None]
    names = [pymc_model.rvs_to_values[pymc_model[n]].name for n in model.param_names]
    u = np.log([0.4, 8.0, 0.9, 15.0])
    expected = float(pymc_model.compile_logp()(dict(zip(names, u, strict=True))))
    assert kernel.log_density(u)[0] == pytest.approx(expected, rel=1e-10)


def test_an_unwritable_cache_folder_leaves_the_fit_to_nutpie(
    cdnow_summary, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    # a file where the folder should be: the store cannot be made, so no callback (the
    # fit then compiles the PyMC model with nutpie) and a warning that names the fix
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CLVLAB_CACHE_DIR", str(blocker))
    model, pymc_model = _pareto_model(cdnow_summary)
    with pytest.warns(clvlab.PerformanceWarning, match="CLVLAB_CACHE_DIR"):
        assert graph_kernel(pymc_model, model.param_names) is None


@pytest.mark.slow
def test_callback_gradient_equals_finite_differences_at_hard_points(cdnow_summary) -> None:  # type: ignore[no-untyped-def]
    # the hard points for the sampler: alpha >> beta and alpha << beta (z near 1
    # in the 2F1 form), r + s + x large; central differences of the callback's own value
    model, pymc_model = _pareto_model(cdnow_summary)
    kernel = graph_kernel(pymc_model, model.param_names)
    assert kernel is not None
    for theta in [
        (0.553, 10.578, 0.606, 11.669),
        (0.5, 500.0, 0.5, 0.5),
        (0.5, 0.5, 2.0, 500.0),
        (20.0, 10.0, 20.0, 10.0),
    ]:
        u = np.log(theta)
        _, grad = kernel.log_density(u)
        h = 1e-5
        numeric = np.array(
            [
                (kernel.log_density(u + h * e)[0] - kernel.log_density(u - h * e)[0]) / (2 * h)
                for e in np.eye(4)
            ]
        )
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-3)
