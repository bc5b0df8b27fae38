"""Siting engine: facility-location models on cost arrays (the array core of netplan).

Public API
----------
- :func:`three_tier` with :class:`Tier`, :class:`StreamModel` → :class:`ThreeTierSolution`
- :class:`Solution`, :class:`StreamSolution`
"""

from netplan.siting.solution import Solution, StreamSolution, ThreeTierSolution
from netplan.siting.three_tier import StreamModel, Tier, three_tier

__all__ = [
    "Solution",
    "StreamModel",
    "StreamSolution",
    "ThreeTierSolution",
    "Tier",
    "three_tier",
]
