"""Draw ``docs/images/leaderboard_v3.png`` from the version-3 table of ``docs/leaderboard.md``.

``neurova leaderboard`` draws the same figure from its per-seed results (``OUT/leaderboard.png``). The rows of
the version-3 table ran over several sessions and machines' caches, and not every row's per-seed results are
kept, so the docs' figure is drawn from the documented table itself: the figure cannot disagree with it.

Usage (the second draws the figure of a shipped tag's card, its entry marked)::

    .venv/bin/python docs/make_leaderboard_figure.py docs/leaderboard.md docs/images/leaderboard_v3.png
    .venv/bin/python docs/make_leaderboard_figure.py docs/leaderboard.md \
        neurova/weights/tiny_cnn_fusion.synthetic_faces/leaderboard.png --highlight tiny_cnn_fusion
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from neurova.leaderboard import TBR_VARIANT_MODEL, PlotPoint, entries, plot_leaderboard

SECTION = "### Current faces (`synthetic_faces-3`)"
_UNITS = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9}


def _number(text: str) -> float:
    value, _, unit = text.strip().partition(" ")
    return float(value) * _UNITS[unit]


def _stat(text: str) -> tuple[float, float | None]:
    mean, _, sd = text.partition("±")
    return float(mean), float(sd) if sd.strip() else None


def table_points(markdown: str, section: str = SECTION) -> list[PlotPoint]:
    """The plot points of the first table after the heading ``section`` of a leaderboard page.

    Rows read: entry (first name in backticks), TBR (``N=8, 5 ms``), CCC valence and arousal (``0.849 ± 0.011``)
    and MACs (``567 M``), by the table's header names.
    """
    lines = markdown[markdown.index(section):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| entry |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    by_name = {e.name: e for e in entries("full")}
    points = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        name = re.search(r"`([^`]+)`", cells["entry"]).group(1)
        tbr = re.fullmatch(r"N=(\d+), ([\d.]+) ms", cells["TBR"])
        n_bits, bin_us = int(tbr.group(1)), round(float(tbr.group(2)) * 1000)
        if name == TBR_VARIANT_MODEL and (n_bits, bin_us) != (8, 5000):
            name = f"{TBR_VARIANT_MODEL}-tbr_n{n_bits}_dt{bin_us}"
        entry = by_name[name]
        if (entry.n_bits, entry.bin_us) != (n_bits, bin_us):
            raise ValueError(f"row {name!r} says N={n_bits}, Δt={bin_us} µs; the entry has {entry.n_bits}, "
                             f"{entry.bin_us}")
        points.append(PlotPoint(entry, {"valence": _stat(cells["CCC valence"]), "arousal": _stat(cells["CCC arousal"])},
                                _number(cells["MACs"])))
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="the leaderboard page (docs/leaderboard.md)")
    parser.add_argument("out", type=Path, help="the image to write")
    parser.add_argument("--highlight", default=None, metavar="ENTRY", help="mark this entry (a tag's card)")
    args = parser.parse_args()
    plot_leaderboard(args.out, table_points(args.page.read_text()), highlight=args.highlight)


if __name__ == "__main__":
    main()
