"""nutpie's C callback for any model: the PyMC model's log-density and the gradient that
pytensor derives from it, compiled by pytensor's numba backend and cached on disk.

This is the generic compiled route. A model's likelihood is its formula, written once
against the ``ops`` backends (:mod:`clvlab.formulas`); here it is taken in its pytensor
form (:meth:`clvlab.models.base.BaseModel.weighted_loglik`), together with the priors
and the Jacobians of PyMC's log transforms, and differentiated by pytensor. Nothing is
written by hand per model.

``nutpie.compile_pymc_model`` does the same but compiles its wrappers on every fit
(about 14 s for Pareto/NBD on the CDNOW sample). Here:

1. every data array of the graph (a ``TensorConstant`` with at least one axis) becomes
   an input, so the compiled code does not depend on the data;
2. the graph is identified by a hash of its structure (ops, their properties, scalar
   constants, the dtypes and ranks of the inputs) and of the versions that compile it;
3. a small C callback for nutpie (a numba ``cfunc``) is written to a module file named
   by that hash and compiled with ``cache=True``: it unpacks the data from nutpie's user
   data pointer and calls the graph's function (``pytensor.function(mode="NUMBA")``).
   numba stores the callback's machine code, the graph's included, next to that file.

The first fit of a model structure compiles (20-60 s, in a child process); later fits
of the same structure load the callback in a fraction of a second and never build the
pytensor function. nutpie runs the chains in its own threads through the callback, in
parallel and without the GIL. The stored draws are the parameters, ``exp`` of the
log-scale values the sampler sees (the expansion callback of
:mod:`clvlab.inference._numba_kernels`).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import sys
import types
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clvlab.errors import PerformanceWarning

__all__ = ["GraphKernel", "graph_kernel"]

#: dtypes a data input may have, by the name the callback's source uses
_DTYPES = {"float64": "np.float64", "int64": "np.int64", "bool": "np.bool_"}
#: int64 slots per data input in the user data header: byte offset and three dimensions
_SLOTS = 4
_MAX_NDIM = _SLOTS - 1
_PROTOTYPE = ctypes.CFUNCTYPE(
    ctypes.c_int64,
    ctypes.c_uint64,
    ctypes.POINTER(ctypes.c_double),
    ctypes.POINTER(ctypes.c_double),
    ctypes.POINTER(ctypes.c_double),
    ctypes.c_void_p,
)


@dataclass(frozen=True)
class GraphKernel:
    """A compiled log-density in the log-parameters ``u`` (in the order of ``names``):
    nutpie's C callback, the packed data it reads (its user data), and where PyMC
    would start the chains (before jitter)."""

    names: tuple[str, ...]
    centres: np.ndarray
    logp_cfunc: Any
    user_data: np.ndarray

    def log_density(self, u: np.ndarray) -> tuple[float, np.ndarray]:
        """The log-density and its gradient at ``u``, through the C callback."""
        at = np.ascontiguousarray(u, dtype=float)
        grad = np.zeros(len(self.names))
        value = np.zeros(1)
        pointer = ctypes.POINTER(ctypes.c_double)
        _PROTOTYPE(self.logp_cfunc.address)(
            len(self.names),
            at.ctypes.data_as(pointer),
            grad.ctypes.data_as(pointer),
            value.ctypes.data_as(pointer),
            self.user_data.ctypes.data,
        )
        return float(value[0]), grad


def graph_kernel(pymc_model: Any, names: tuple[str, ...]) -> GraphKernel | None:
    """The compiled route for ``pymc_model``, whose free variables are the scalar
    parameters ``names``; ``None`` when a parameter is not sampled on the log scale
    (a truncated prior, say) or a data array has a dtype or rank the callback does not
    unpack: nutpie's own compilation then handles the model."""
    import pytensor
    import pytensor.tensor as pt
    from pymc.logprob.transforms import LogTransform
    from pytensor.graph.traversal import ancestors
    from pytensor.tensor.variable import TensorConstant

    rvs = [pymc_model[name] for name in names]
    if len(pymc_model.free_RVs) != len(names) or not all(
        isinstance(pymc_model.rvs_to_transforms.get(rv), LogTransform) and rv.ndim == 0
        for rv in rvs
    ):
        return None
    values = [pymc_model.rvs_to_values[rv] for rv in rvs]
    u = pt.dvector("u")
    logp: Any = pytensor.clone_replace(pymc_model.logp(), {v: u[i] for i, v in enumerate(values)})
    data: list[Any] = [
        c for c in ancestors([logp]) if isinstance(c, TensorConstant) and c.ndim >= 1
    ]
    if any(str(c.dtype) not in _DTYPES or c.ndim > _MAX_NDIM for c in data):
        return None
    # unknown sizes, except the length-1 axes that broadcast (a row of nodes, say)
    inputs = [
        pt.tensor(dtype=c.dtype, shape=tuple(1 if d == 1 else None for d in c.type.shape))
        for c in data
    ]
    replace: dict[Any, Any] = dict(zip(data, inputs, strict=True))
    # the priors' arguments (a scale centred on the data's mean T, say) enter as one
    # vector too, so the compiled code is shared by every data set of the model
    present = set(ancestors([logp]))
    arguments = [
        c
        for rv in rvs
        for c in rv.owner.inputs
        if isinstance(c, TensorConstant) and c.ndim == 0 and c.dtype == "float64" and c in present
    ]
    arguments = list(dict.fromkeys(arguments))
    prior_vector = pt.dvector("prior_arguments")
    replace.update({c: prior_vector[i] for i, c in enumerate(arguments)})
    inputs.append(prior_vector)
    data.append(TensorConstant(prior_vector.type, np.array([float(c.data) for c in arguments])))
    # rebuilt, not strict: the nodes take the inputs' unknown shapes (a strict clone would
    # pin every size with SpecifyShape, and the compiled code would depend on the data)
    logp = pytensor.clone_replace(logp, replace, rebuild_strict=False)
    grad: Any = pytensor.grad(logp, u)
    kinds = [(str(c.dtype), c.ndim) for c in data]
    key = _structure_key([logp, grad], kinds)
    point = pymc_model.initial_point()
    centres = np.array([float(point[v.name]) for v in values])
    arrays = [np.ascontiguousarray(c.data) for c in data]

    try:
        cfunc = _callback(key, kinds, len(names), ([u, *inputs], [logp, grad]))
    except OSError as err:  # no writable cache folder: nutpie compiles the model itself
        warnings.warn(
            f"clvlab cannot store the compiled log-density ({err}); nutpie compiles the "
            "model on every fit instead. Set CLVLAB_CACHE_DIR to a writable folder.",
            PerformanceWarning,
            stacklevel=3,
        )
        return None
    return GraphKernel(names, centres, cfunc, _pack(arrays))


def compile_graph(graph: tuple[list[Any], list[Any]]) -> Any:
    """The numba function of ``graph`` (inputs, outputs): pytensor's numba backend."""
    import pytensor

    from clvlab.inference.bayes import _cacheable_digamma

    _cacheable_digamma()  # lets numba cache graphs with psi (gammaln's derivative)
    inputs, outputs = graph
    fn = pytensor.function(inputs, outputs, mode="NUMBA", on_unused_input="ignore")
    return fn.vm.jit_fn


def _structure_key(outputs: list[Any], kinds: list[tuple[str, int]]) -> str:
    """A hash of what the compiled code depends on: every node's op with its
    properties, scalar constants by value, the inputs' dtypes and ranks, and the
    versions of clvlab, pytensor, numba and NumPy."""
    import numba
    import pytensor
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import io_toposort

    from clvlab import __version__

    number: dict[Any, int] = {}
    parts = [__version__, pytensor.__version__, numba.__version__, np.__version__, repr(kinds)]
    parts.append(repr(pytensor.config.numba__fastmath))

    def name(var: Any) -> str:
        if isinstance(var, Constant):
            return f"const({var.type}, {np.asarray(var.data).tolist()!r})"
        if var not in number:
            number[var] = len(number)
            parts.append(f"var {number[var]}: {var.type}")
        return f"v{number[var]}"

    for node in io_toposort([], outputs):
        props: dict[str, Any] = getattr(node.op, "_props_dict", dict)()
        inputs = ", ".join(name(v) for v in node.inputs)
        outputs_ = ", ".join(name(v) for v in node.outputs)
        parts.append(f"{type(node.op).__module__}.{node.op} {props!r} ({inputs}) -> {outputs_}")
    parts.append("out " + ", ".join(name(v) for v in outputs))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _pack(arrays: list[np.ndarray]) -> np.ndarray:
    """One int64 buffer: the total size in bytes, then per array its byte offset and
    three dimensions (1 for missing axes), then the arrays, each 8-byte aligned."""
    header = 1 + _SLOTS * len(arrays)
    offset = 8 * header
    table = [0] * header
    for i, arr in enumerate(arrays):
        shape = list(arr.shape) + [1] * (_MAX_NDIM - arr.ndim)
        table[1 + _SLOTS * i : 1 + _SLOTS * (i + 1)] = [offset, *shape]
        offset += -(-arr.nbytes // 8) * 8
    table[0] = offset
    buffer = np.zeros(offset // 8, dtype=np.int64)
    raw = buffer.view(np.uint8)
    for i, arr in enumerate(arrays):
        start = table[1 + _SLOTS * i]
        raw[start : start + arr.nbytes] = np.frombuffer(arr.tobytes(), dtype=np.uint8)
    buffer[:header] = table
    return buffer


def _source(kinds: list[tuple[str, int]], dim: int) -> str:
    """The callback's module: unpack each data input from the user data, call the
    graph (the module global ``graph``), check and copy the results."""
    unpack = []
    for i, (dtype, ndim) in enumerate(kinds):
        base = 1 + _SLOTS * i
        dims = ", ".join(f"head[{base + 1 + k}]" for k in range(ndim))
        size = " * ".join(f"head[{base + 1 + k}]" for k in range(ndim))
        unpack.append(
            f"    d{i} = raw[head[{base}] : head[{base}] + {size} * {np.dtype(dtype).itemsize}]"
            f".view({_DTYPES[dtype]}).reshape(({dims},))"
        )
    args = "".join(f", d{i}" for i in range(len(kinds)))
    return f'''"""Generated by clvlab.inference.graph_kernel: nutpie's C callback for one graph."""

import numba
import numpy as np

from clvlab.inference._numba_kernels import logp_sig


@numba.cfunc(logp_sig, cache=True, error_model="numpy")
def logp_cfunc(n, x_, grad_, logp_, user_data_):
    if n != {dim}:
        return -1
    head = numba.carray(user_data_, ({1 + _SLOTS * len(kinds)},), np.int64)
    raw = numba.carray(user_data_, (head[0],), np.uint8)
{chr(10).join(unpack)}
    x = numba.carray(x_, ({dim},))
    grad = numba.carray(grad_, ({dim},))
    logp = numba.carray(logp_, (1,))
    u = np.empty({dim})
    for k in range({dim}):
        u[k] = x[k]
        grad[k] = np.nan
    logp[0] = np.nan  # stays so if the graph fails (numba returns 0 from the callback)
    value, gradient = graph(u{args})
    logp[0] = value[()]
    for k in range({dim}):
        grad[k] = gradient[k]
        if not np.isfinite(gradient[k]):
            return 3
    if not np.isfinite(logp[0]):
        return 4
    return 0
'''


def _cache_dir() -> Path:
    """Where the callback modules live: ``$CLVLAB_CACHE_DIR`` or pytensor's compile
    folder (numba keeps the compiled code next to each module)."""
    import pytensor

    root = os.environ.get("CLVLAB_CACHE_DIR")
    base = Path(root) if root else Path(pytensor.config.compiledir)
    folder = base / "clvlab_graph_kernels"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _callback(
    key: str, kinds: list[tuple[str, int]], dim: int, graph: tuple[list[Any], list[Any]]
) -> Any:
    """The callback of the graph ``key``: loaded from numba's cache when this structure
    was compiled before; otherwise compiled first, in a child process."""
    from clvlab._atomic import atomic_path

    path = _cache_dir() / f"graph_{key}.py"
    source = _source(kinds, dim)
    if not path.exists() or path.read_text() != source:
        with atomic_path(path) as temp:
            temp.write_text(source)
    # pytensor builds its numba functions from source text, so numba records their
    # module as "<dynamic>" and imports it when it loads stored code that calls them;
    # an empty module stands for it (those functions use no module globals)
    sys.modules.setdefault("<dynamic>", types.ModuleType("<dynamic>"))
    try:
        # numba loads the stored callback without typing ``graph``: no graph to build
        return _load(path, key, None)
    except Exception:  # not stored for this machine yet: numba tried to type ``None``
        pass
    # Compiled in a child process, then loaded from the store like any later fit: a
    # process that compiled the graph itself computes the log-density differently in
    # the last bit (seen on the CDNOW sample), and then the same seed would give other
    # draws on the first fit than on every later one.
    if _compile_in_child(path, key, graph):
        try:
            return _load(path, key, None)
        except Exception:  # the store is not usable: compile here instead
            pass
    return _load(path, key, compile_graph(graph))


def _compile_in_child(path: Path, key: str, graph: tuple[list[Any], list[Any]]) -> bool:
    """Compile and store the callback of ``path`` in a fresh Python process; whether
    that worked (a graph that does not pickle, say, is compiled in this process)."""
    import pickle
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        payload = Path(tmp) / "graph.pkl"
        try:
            payload.write_bytes(pickle.dumps((graph, str(path), key)))
        except Exception:  # an op that does not pickle
            return False
        code = (
            "import pickle, sys, warnings; warnings.simplefilter('ignore')\n"
            "from pathlib import Path\n"
            "from clvlab.inference import graph_kernel as g\n"
            "graph, path, key = pickle.loads(Path(sys.argv[1]).read_bytes())\n"
            "sys.modules.setdefault('<dynamic>', g.types.ModuleType('<dynamic>'))\n"
            "g._load(Path(path), key, g.compile_graph(graph))\n"
        )
        try:
            done = subprocess.run(
                [sys.executable, "-c", code, str(payload)],
                capture_output=True,
                check=False,
                timeout=3600,
            )
        except subprocess.TimeoutExpired:
            return False
    return done.returncode == 0


def _load(path: Path, key: str, graph: Any) -> Any:
    """Run the callback module ``path`` with ``graph`` as its graph function."""
    spec = importlib.util.spec_from_file_location(f"clvlab_graph_{key}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - a file path always loads
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    module.graph = graph  # type: ignore[attr-defined]
    spec.loader.exec_module(module)
    return module.logp_cfunc
