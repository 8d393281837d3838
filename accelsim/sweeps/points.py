"""Design points of a sweep: which level of every axis each point takes.

Place in the pipeline: ``sweeps.spec -> sweeps.points`` (this module) ``->
sweeps.runner``, which runs every (point, trace).

Strategies, all deterministic for a given sweep file and ``seed``:

- ``grid``: every combination of levels, the first axis varying slowest
  (``itertools.product`` order); ``grid_size`` points.
- ``random``: ``count`` distinct grid points drawn uniformly without
  replacement, listed in grid order.
- ``latin_hypercube``: ``count`` points; on each axis the unit interval is cut
  into ``count`` strata, one uniform sample is drawn per stratum and the strata
  are shuffled independently per axis (McKay, Beckman, Conover, Technometrics
  21(2), 1979), then a sample ``u`` takes level ``floor(u * levels)``. Each
  level of an axis is thus used ``count / levels`` times, give or take one.
  Two samples may land on the same levels: they are two points with the same
  configuration, computed once.

A point's ``point_id`` is its position in this list. Its arch is the base arch
document with every axis key set to the point's value (:func:`point_arch`);
the base document is never modified.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from accelsim.sweeps.spec import SweepSpec


@dataclass(frozen=True, slots=True)
class Point:
    """One design point: its id and one value per swept key (``SweepSpec.columns``)."""

    point_id: int
    values: tuple[Any, ...]


INT64_MAX = int(np.iinfo(np.int64).max)
"""Largest grid whose points numpy can number; beyond it random draws per axis."""


def _random_per_axis(rng: np.random.Generator, sizes: list[int],
                     count: int) -> list[tuple[int, ...]]:
    """``count`` distinct grid points of a grid too large to number, in grid order.

    Each draw takes every axis's level independently and uniformly, which is a
    uniform grid point; repeats are drawn again, so the result is a uniform
    sample without replacement. On a grid this large (more than 2**63 points)
    a repeat is all but impossible, so this ends after one round or two.
    """
    chosen: dict[tuple[int, ...], None] = {}
    while len(chosen) < count:
        need = count - len(chosen)
        columns = [rng.integers(0, n, size=need).tolist() for n in sizes]
        for idx in zip(*columns):
            chosen.setdefault(idx, None)
    return sorted(chosen)  # grid order: the first axis most significant


def _level_indices(spec: SweepSpec) -> list[tuple[int, ...]]:
    sizes = [len(axis.levels) for axis in spec.axes]
    if spec.strategy == "grid":
        return list(itertools.product(*(range(n) for n in sizes)))
    rng = np.random.default_rng(spec.seed)
    count = int(spec.count)
    if spec.strategy == "random":
        if spec.grid_size > INT64_MAX:
            return _random_per_axis(rng, sizes, count)
        flat = np.sort(rng.choice(spec.grid_size, size=count, replace=False))
        out = []
        for f in flat.tolist():  # mixed radix, the first axis most significant
            idx = []
            for n in reversed(sizes):
                f, i = divmod(f, n)
                idx.append(i)
            out.append(tuple(reversed(idx)))
        return out
    columns = []
    for n in sizes:
        u = (rng.permutation(count) + rng.random(count)) / count
        columns.append(np.minimum((u * n).astype(np.int64), n - 1).tolist())
    return list(zip(*columns)) if columns else [()] * count


def generate_points(spec: SweepSpec) -> list[Point]:
    """The points of ``spec`` in ``point_id`` order (see the module docstring)."""
    points = []
    for pid, idx in enumerate(_level_indices(spec)):
        values = tuple(v for axis, i in zip(spec.axes, idx) for v in axis.levels[i])
        points.append(Point(point_id=pid, values=values))
    return points


def set_key(doc: dict, key: str, value: Any) -> None:
    """Set the dotted ``key`` of ``doc`` in place, creating missing sections."""
    *sections, leaf = key.split(".")
    for part in sections:
        doc = doc.setdefault(part, {})
    doc[leaf] = value


def point_arch(spec: SweepSpec, point: Point) -> dict:
    """The arch document of ``point``: a copy of the base with the swept keys set."""
    doc = copy.deepcopy(spec.base)
    for key, value in zip(spec.columns, point.values):
        set_key(doc, key, value)
    return doc
