"""Hole-ratio bins. A bin is the half-open interval (lo, hi]; a ratio outside every bin gets -1."""
from __future__ import annotations

import bisect
from typing import List, Sequence

PAPER_BIN_EDGES = (0.0, 0.2, 0.4, 0.6)  # JPGNet / MISF: 0-20 %, 20-40 %, 40-60 %


def check_edges(edges: Sequence[float]) -> List[float]:
    """Edges as a list of floats; raises unless strictly increasing within [0, 1] with at least one bin."""
    edges = [float(e) for e in edges]
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])) or edges[0] < 0 or edges[-1] > 1:
        raise ValueError(f"bin edges must be strictly increasing in [0, 1] with at least 2 values, got {edges}")
    return edges


def bin_index(ratio: float, edges: Sequence[float]) -> int:
    """Index b with edges[b] < ratio <= edges[b+1], or -1 when the ratio lies in no bin."""
    position = bisect.bisect_left(edges, ratio)
    if position == 0 or position == len(edges):
        return -1
    return position - 1


def bin_names(edges: Sequence[float]) -> List[str]:
    """Names such as '0-20%' for each bin."""
    return [f"{lo * 100:g}-{hi * 100:g}%" for lo, hi in zip(edges, edges[1:])]
