"""Colours and bilingual labels shared by the HTML and PNG maps.

Stream names, Chinese labels and colours, and the tier names, are data (data/streams.toml, via
:func:`netplan.streams.load_streams` / :func:`~netplan.streams.load_tiers`); this module holds only
the map-wide colours.
"""

from __future__ import annotations

from collections.abc import Mapping

from netplan.streams import load_streams, load_tiers

#: colours of streams that data/streams.toml gives none (stable per name)
FALLBACK_COLOURS = ("#56B4E9", "#D55E00", "#F0E442", "#999999", "#332288")

COVERED = "#1a9641"  # village covered
UNCOVERED = "#d7191c"  # village not covered
PARTIAL = "#fdae61"  # combined map: covered for some streams only
# Township choropleth classes: coverage relative to the target.
TOWNSHIP_MET = "#a6d96a"
TOWNSHIP_NEAR = "#fee08b"  # within 0.10 of the target
TOWNSHIP_FAR = "#f46d43"
TOWNSHIP_NO_TARGET = "#d9d9d9"
NEAR_MARGIN = 0.10

# Per-vehicle route colours (Tableau 10): route k gets ROUTE_COLOURS[k % 10].
ROUTE_COLOURS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)
HAUL_COLOUR = "#333333"
OFFLINE_BACKGROUND = "#f3f1ea"


def stream_colour(stream: str) -> str:
    """Colour of a stream (its ``color`` in data/streams.toml); others get a stable fallback."""
    meta = load_streams().get(stream)
    if meta is not None and meta.color:
        return meta.color
    return FALLBACK_COLOURS[sum(map(ord, stream)) % len(FALLBACK_COLOURS)]


def stream_name_zh(stream: str) -> str:
    """Chinese name of a stream (data/streams.toml), empty when it has none."""
    meta = load_streams().get(stream)
    return meta.name_zh if meta is not None else ""


def stream_name_en(stream: str) -> str:
    """English name of a stream (data/streams.toml), else the id made readable."""
    meta = load_streams().get(stream)
    return _cap(meta.name_en) if meta is not None else stream.replace("_", " ").capitalize()


def tier_name_zh(tier: str) -> str:
    """Chinese name of a tier (``[tiers.<tier>]`` in data/streams.toml), else the id."""
    return str(load_tiers().get(tier, {}).get("name_zh", tier))


def tier_name_en(tier: str) -> str:
    """English name of a tier (data/streams.toml), else the id."""
    return _cap(str(load_tiers().get(tier, {}).get("name_en", tier)))


def _cap(text: str) -> str:
    """First letter upper-case, for a label's start ("village point" -> "Village point")."""
    return text[:1].upper() + text[1:]


def stream_label(stream: str, stream_labels: Mapping[str, str] | None) -> str:
    """Bilingual stream label, e.g. ``秸秆 Straw``; the caller's label wins when given."""
    if stream_labels and stream in stream_labels:
        return str(stream_labels[stream])
    return f"{stream_name_zh(stream)} {stream_name_en(stream)}".strip()


def tier_label(
    stream: str, tier: str, tier_labels: Mapping[str, Mapping[str, str]] | None
) -> str:
    """Bilingual tier label: the stream's own Chinese tier name, then the English tier name."""
    zh = None
    if tier_labels and stream in tier_labels:
        zh = tier_labels[stream].get(tier)
    zh = zh or tier_name_zh(tier)
    return f"{zh} {tier_name_en(tier)}"
