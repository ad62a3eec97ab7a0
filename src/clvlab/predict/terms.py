"""Terms of the purchase predictions computed once per distinct key and parameter draw.

Every conditional quantity of a purchase model with history ``(x, t_x, T)`` factors
into P(alive at T), which depends on ``(x, t_x, T)``, and a quantity of a customer alive
at ``T``, which depends on ``(x, T)`` only (the contract of
:mod:`clvlab.formulas.contract`; for BG/NBD, Fader, Hardie & Lee 2005, eqs. 10-11). On
CDNOW the 23,570 customers have 8,685 distinct triples but only 979 distinct ``(x, T)``
pairs, so the expensive part is computed per pair and draw and gathered for every
customer. :class:`SharedTerm` computes a term once for all chunks of a prediction
(split across the cores).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from clvlab._parallel import workers_for

__all__ = ["SharedTerm", "distinct", "gather", "shared_term", "sharing"]


def distinct(table: pd.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    """Codes of each row's distinct ``columns`` tuple, and the distinct values per column.

    The codes follow the sorted order of the tuples, as :func:`clvlab.data.folding.fold`
    orders its rows: a prediction folded on the same columns meets the codes in
    increasing order, chunk by chunk, and :func:`gather` reads each chunk's keys as
    one contiguous block of the shared term (a view, or cache-friendly reads).

    Examples
    --------
    >>> codes, x, T = distinct(pd.DataFrame({"x": [2, 1, 1], "T": [5.0, 5.0, 5.0]}), ("x", "T"))
    >>> codes.tolist(), x.tolist(), T.tolist()
    ([1, 0, 0], [1.0, 2.0], [5.0, 5.0])
    """
    # column by column: the codes of the tuples so far, combined with the next column's
    # sorted codes and factorized again (sorted), stay below n^2 and never overflow
    codes = np.zeros(len(table), dtype=np.int64)
    for c in columns:
        column_codes, uniques = pd.factorize(table[c], sort=True, use_na_sentinel=False)
        combined = codes * max(len(uniques), 1) + column_codes
        codes = np.asarray(pd.factorize(combined, sort=True)[0], dtype=np.int64)
    n_distinct = int(codes.max()) + 1 if len(codes) else 0
    first = np.empty(n_distinct, dtype=np.intp)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return (codes, *(table[c].to_numpy(dtype=float)[first] for c in columns))


def gather(term: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``term[..., codes]``: a read-only view when ``codes`` is a run of consecutive keys
    (the folded rows of a chunk meet :func:`distinct`'s codes in order), else a copy;
    codes out of range raise ``IndexError``, as NumPy's indexing does.

    Examples
    --------
    >>> term = np.arange(10.0).reshape(2, 5)
    >>> np.shares_memory(gather(term, np.array([1.0, 2.0, 3.0])), term)
    True
    >>> gather(term, np.array([4, 0])).tolist()
    [[4.0, 0.0], [9.0, 5.0]]
    """
    idx = np.asarray(codes).astype(np.intp)
    n = len(idx)
    first, last = (int(idx[0]), int(idx[-1])) if n else (0, -1)
    run = last - first == n - 1 and (n == 1 or bool(np.all(np.diff(idx) == 1)))
    if n and run and first >= 0 and last < term.shape[-1]:
        view = term[..., first : last + 1]
        view.flags.writeable = False  # the shared term is not the caller's to change
        return view
    return term[..., idx]


#: elements (draws x keys) of one block of a :class:`SharedTerm`'s computation
_BLOCK_ELEMENTS = 2**18


class SharedTerm:
    """A term computed once per distinct key (all of them at once, split across the
    cores; SciPy's special functions and the compiled series release the GIL) for each
    parameter set, and shared by every chunk. Chunks run in threads, so the first one
    computes it under a lock.

    ``compute(part, params)`` returns the term for the keys ``part`` (a slice), with the
    keys on the last axis.

    ``by_draws``: split the work by parameter draws instead of by keys (the draws on the
    second-to-last axis of the result). For a compiled term whose set-up per draw
    (tables per distinct ``T``, series coefficients per ``x``) would be repeated by
    every block of keys.
    """

    def __init__(
        self,
        compute: Callable[[slice, Mapping[str, Any]], np.ndarray],
        n_keys: int,
        depends_on: Sequence[str] | None = None,
        *,
        by_draws: bool = False,
    ) -> None:
        self._compute = compute
        self._n = n_keys
        self._names = None if depends_on is None else tuple(depends_on)
        self._by_draws = by_draws
        self._cache: dict[tuple[str, ...], np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, p: Mapping[str, Any]) -> np.ndarray:
        # the values of the parameters the term depends on are part of the key, so a
        # term shared between predictions (see :func:`sharing`) is never reused for
        # other draws
        names = sorted(p) if self._names is None else self._names
        key = tuple(_digest(np.asarray(p[n], dtype=float)) for n in names)
        with self._lock:
            if key not in self._cache:
                n_draws = max(int(np.size(next(iter(p.values())))), 1)
                if self._by_draws and n_draws > 1:
                    self._cache[key] = self._split_draws(p, n_draws)
                else:
                    self._cache[key] = self._split_keys(p, n_draws)
            return self._cache[key]

    def _split_keys(self, p: Mapping[str, Any], n_draws: int) -> np.ndarray:
        # blocks of keys whose (draws x keys) temporaries stay in the cache: the
        # formulas are chains of whole-array NumPy operations, memory-bound on arrays of
        # draws x all keys
        block = max(16, _BLOCK_ELEMENTS // n_draws)
        parts = [slice(lo, min(lo + block, self._n)) for lo in range(0, self._n, block)]
        with ThreadPoolExecutor(max_workers=workers_for(len(parts))) as pool:
            blocks = pool.map(lambda part: np.asarray(self._compute(part, p)), parts)
            return np.concatenate(list(blocks), axis=-1)

    def _split_draws(self, p: Mapping[str, Any], n_draws: int) -> np.ndarray:
        workers = workers_for(n_draws)
        bounds = np.linspace(0, n_draws, workers + 1).astype(int)

        def some_draws(i: int) -> np.ndarray:
            lo, hi = bounds[i], bounds[i + 1]
            sub = {
                n: v[lo:hi] if np.ndim(v) and np.shape(v)[0] == n_draws else v for n, v in p.items()
            }
            return np.asarray(self._compute(slice(0, self._n), sub))

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return np.concatenate(list(pool.map(some_draws, range(workers))), axis=-2)


def _digest(*arrays: np.ndarray) -> str:
    """A content hash of arrays (their shapes and bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


_SHARED: contextvars.ContextVar[dict[tuple[Any, ...], SharedTerm] | None] = contextvars.ContextVar(
    "clvlab_shared_terms", default=None
)


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Within this block, :func:`shared_term` gives every prediction the same term for
    the same key: :func:`clvlab.predict_customers` computes P(alive) under every draw
    once for its CLV, expected purchases and P(alive), instead of three times. The
    terms are dropped when the block ends, so memory is held only for the call."""
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def shared_term(
    key: tuple[Any, ...],
    keys: Sequence[np.ndarray],
    compute: Callable[[slice, Mapping[str, Any]], np.ndarray],
    depends_on: Sequence[str],
) -> SharedTerm:
    """The :class:`SharedTerm` of ``compute`` over the distinct keys ``keys`` (one array
    per key column), shared within a :func:`sharing` block by ``key`` and the keys'
    content, else a new one."""
    store = _SHARED.get()
    if store is None:
        return SharedTerm(compute, len(keys[0]), depends_on)
    full_key = (*key, _digest(*keys))
    if full_key not in store:
        store[full_key] = SharedTerm(compute, len(keys[0]), depends_on)
    return store[full_key]
