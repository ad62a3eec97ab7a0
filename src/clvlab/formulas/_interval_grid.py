"""Integrals over each row's ``[t_x, T]`` on quadrature nodes that the rows share.

A likelihood such as the Pareto/NBD's has, for every row, an integral

.. math:: I = \\int_{t_x}^{T} \\exp\\big(\\psi_x(\\tau)\\big)\\,d\\tau

whose integrand depends on the row only through ``x``. A folded table has few distinct
``x`` and few distinct end points (CDNOW: 37 values of ``x`` and 273 end points over
8,685 rows, because times are whole days), so the integrals of all rows are sums over
the same elementary intervals between consecutive end points. Each elementary interval
gets a Gauss-Legendre rule once, the integrand is evaluated once per (``x``, node), and a
reverse cumulative sum gives every row's integral as a difference of two of its values.
On full CDNOW that is 42,000 integrand values per evaluation instead of the 556,000 of a
64-node rule per row, and the gradient (derived by the backend) shrinks with it.

Accuracy. An elementary interval ``[a, b]`` is cut into geometric panels with
``log(b / a) <= h``, each with :data:`NODES` Gauss-Legendre nodes. For an integrand
``(c + tau)^-e`` with ``c >= 0`` (the Pareto/NBD's factors) a panel then spans at most
``h`` in ``log(c + tau)``, where the integrand is smooth, whatever ``c`` is; ``h`` shrinks
with the largest ``x`` (:func:`interval_grid`), so the exponent's change over a panel
stays bounded. ``tests/formulas/test_interval_grid.py`` checks the rule against the
per-row quadrature of :mod:`clvlab.formulas.pnbd` (itself checked against mpmath): to
~1e-12 on CDNOW and 1e-8 on random day grids for ``r, s <= 5``. The bound does not
include ``r`` and ``s``, so at implausible values (``r = s = 50``, ``beta = 0.1``) a
row's log-likelihood is off by up to ~1e-4; posteriors of real data lie far from there,
and the maximum-likelihood fit and every prediction use the per-row rule.

Range. Each group's values are scaled by the integrand at its first node (the largest,
for a decreasing integrand), so nothing overflows; rows of one ``x`` whose start points
lie far apart go to separate groups (:data:`GROUP_SPAN`), so a row's scaled integral
cannot underflow for any sensible parameters.

Rows with ``t_x = 0`` (the integral starts at 0, where no geometric panel fits) or
``t_x >= T`` are left to the caller's per-row formula.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["NODES", "IntervalGrid", "interval_grid", "log_integrals"]

Array = Any

#: Gauss-Legendre nodes per panel
NODES = 4
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(NODES)
#: largest ``log(b / a)`` of a panel used by rows with ``x <= 19``; it shrinks as
#: ``2 / (x + 1)`` beyond
PANEL_SPAN = 0.1
#: largest ``(x + 1) log(t_x / first)`` between a group's first node and a row's start
GROUP_SPAN = 100.0
#: the grid is used only when it needs fewer integrand values than this many per row
#: (the per-row rule of :mod:`clvlab.formulas.pnbd` uses 64)
_WORTH = 32


@dataclass(frozen=True)
class IntervalGrid:
    """Shared nodes for the rows ``rows`` of a table (see the module docstring).

    ``nodes`` and ``weights`` run over every panel in order, with a last zero-weight
    node; row ``rows[i]`` integrates over the nodes ``row_start[i]`` to
    ``row_end[i] - 1`` of group ``row_group[i]``, whose ``x`` is ``group_x`` and whose
    values are scaled at node ``first``; ``lead`` marks each group's nodes before it.
    """

    nodes: np.ndarray
    weights: np.ndarray
    group_x: np.ndarray
    first: np.ndarray
    lead: np.ndarray
    rows: np.ndarray
    row_group: np.ndarray
    row_start: np.ndarray
    row_end: np.ndarray

    @property
    def size(self) -> int:
        """Integrand values per evaluation: groups times nodes."""
        return int(self.lead.size)


def _panels(ends: np.ndarray, span: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geometric panels ``[a_k, b_k]`` covering ``ends[0]..ends[-1]`` with
    ``log(b_k / a_k) <= span[j]`` in the ``j``-th elementary interval, and the first
    panel of each end point."""
    counts = np.maximum(np.ceil(np.log(ends[1:] / ends[:-1]) / span), 1).astype(int)
    first = np.concatenate([[0], np.cumsum(counts)])
    step = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(int(first[-1])) - first[step]
    ratio = ends[step + 1] / ends[step]
    left = ends[step] * ratio ** (within / counts[step])
    right = np.where(within + 1 == counts[step], ends[step + 1], left * ratio ** (1 / counts[step]))
    return left, right, first


def interval_grid(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> IntervalGrid | None:
    """The shared nodes of the rows with ``0 < t_x < T``, or ``None`` when there are none
    or when a per-row rule needs fewer integrand values (data with few repeated times).
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    rows = np.flatnonzero((t_x > 0) & (t_x < T))
    if len(rows) == 0:
        return None
    xs, txs, Ts = x[rows], t_x[rows], T[rows]
    ends = np.unique(np.concatenate([txs, Ts]))
    # the largest x whose rows use each elementary interval (those starting before it)
    order = np.argsort(txs, kind="stable")
    x_upto = np.maximum.accumulate(xs[order])
    active = x_upto[np.searchsorted(txs[order], ends[:-1], side="right") - 1]
    span = np.minimum(PANEL_SPAN, 2.0 / (active + 1.0))
    left, right, panel_of_end = _panels(ends, span)
    half = (right - left)[:, None] / 2
    nodes = np.append(((left + right)[:, None] / 2 + half * _GL_NODES).ravel(), right[-1])
    weights = np.append((half * _GL_WEIGHTS).ravel(), 0.0)
    node_of_end = panel_of_end * NODES
    start = node_of_end[np.searchsorted(ends, txs)]
    end = node_of_end[np.searchsorted(ends, Ts)]
    # groups: one x, and start points within GROUP_SPAN / (x + 1) of each other in log
    band = np.floor((xs + 1.0) * np.log(txs / ends[0]) / GROUP_SPAN)
    keys, row_group = np.unique(np.stack([xs, band], axis=1), axis=0, return_inverse=True)
    row_group = row_group.ravel()
    first = np.full(len(keys), len(nodes), dtype=int)
    np.minimum.at(first, row_group, start)
    if len(keys) * len(nodes) > _WORTH * len(rows):
        return None
    lead = np.arange(len(nodes))[None, :] < first[:, None]
    return IntervalGrid(
        nodes=nodes,
        weights=weights,
        group_x=keys[:, 0].copy(),
        first=first,
        lead=lead,
        rows=rows,
        row_group=row_group,
        row_start=start,
        row_end=end,
    )


def log_integrals(
    ops: Any, grid: IntervalGrid, log_integrand: Callable[[Array, Array], Array]
) -> Array:
    """``log int_{t_x}^{T} exp(psi_x(tau)) dtau`` for the rows ``grid.rows``.

    ``log_integrand(x, tau)`` is ``psi`` for a column of ``x`` (one per group) against a
    row of nodes; it must decrease in ``tau``. The result's derivative in the
    parameters ``psi`` captures comes from the backend (the grid is data only).
    """
    psi = log_integrand(grid.group_x[:, None], grid.nodes[None, :])
    ref = psi[np.arange(len(grid.first)), grid.first]
    # nodes before a group's first node are not used by its rows: 0, and no overflow
    scaled = ops.where(grid.lead, -np.inf, psi - ref[:, None])
    values = ops.exp(scaled) * grid.weights[None, :]
    tail = ops.cumsum(values[:, ::-1], axis=1)[:, ::-1]  # sum from each node to the end
    inside = tail[grid.row_group, grid.row_start] - tail[grid.row_group, grid.row_end]
    return ref[grid.row_group] + ops.log(inside)
