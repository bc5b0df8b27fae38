"""Colours, tier symbols and bilingual labels shared by the HTML and PNG maps."""

from __future__ import annotations

from collections.abc import Mapping

TIER_EN: dict[str, str] = {
    "village_point": "Village point",
    "township_station": "Township station",
    "county_center": "County centre",
}
TIER_ZH: dict[str, str] = {
    "village_point": "村级回收点",
    "township_station": "乡镇转运站",
    "county_center": "县级处理中心",
}
STREAM_EN: dict[str, str] = {
    "straw": "Straw",
    "film": "Agricultural film",
    "pesticide_packaging": "Pesticide packaging",
    "manure": "Livestock manure",
    "recyclables": "Recyclables",
}
STREAM_ZH: dict[str, str] = {
    "straw": "秸秆",
    "film": "农膜",
    "pesticide_packaging": "农药包装废弃物",
    "manure": "畜禽粪污",
    "recyclables": "再生资源",
}
# One colour per stream (colour-blind-safe Okabe-Ito hues).
STREAM_COLOUR: dict[str, str] = {
    "straw": "#E69F00",
    "film": "#0072B2",
    "pesticide_packaging": "#CC79A7",
    "manure": "#8C564B",
    "recyclables": "#009E73",
}
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
    """Colour of a stream; streams beyond the five get a stable fallback colour."""
    if stream in STREAM_COLOUR:
        return STREAM_COLOUR[stream]
    return FALLBACK_COLOURS[sum(map(ord, stream)) % len(FALLBACK_COLOURS)]


def stream_label(stream: str, stream_labels: Mapping[str, str] | None) -> str:
    """Bilingual stream label, e.g. ``秸秆 Straw``; the caller's label wins when given."""
    if stream_labels and stream in stream_labels:
        return str(stream_labels[stream])
    zh = STREAM_ZH.get(stream, "")
    en = STREAM_EN.get(stream, stream.replace("_", " ").capitalize())
    return f"{zh} {en}".strip()


def tier_label(
    stream: str, tier: str, tier_labels: Mapping[str, Mapping[str, str]] | None
) -> str:
    """Bilingual tier label: the stream's own Chinese tier name, then the English tier name."""
    zh = None
    if tier_labels and stream in tier_labels:
        zh = tier_labels[stream].get(tier)
    zh = zh or TIER_ZH.get(tier, tier)
    return f"{zh} {TIER_EN.get(tier, tier)}"
