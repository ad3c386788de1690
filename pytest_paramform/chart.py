"""A donut chart of a report's parameters by form, as a PNG.

Shares and counts live in a legend beside the ring, never on the wedges, so slices of
0.02% stay readable. matplotlib is an optional extra (``plot``); it is imported on first
use and driven through its object API with the Agg canvas, never through pyplot, so
rendering works headless and leaves the caller's pyplot state and backend alone.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_paramform.files import write_bytes
from pytest_paramform.heavy_imports import require
from pytest_paramform.report import ParamFormReport, form_rank, percent, short_count
from pytest_paramform.torch_warnings import CHART_MODULES, internal_warnings_ignored

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIGSIZE = (8.0, 5.0)
EMPTY_RING = "#DDDDDD"
# Okabe-Ito (colour-blind safe), one fixed colour per form so every chart agrees.
FORM_COLOURS = {
    "Scalar": "#CC79A7",
    "Vector": "#E69F00",
    "Matrix": "#0072B2",
    "Tensor rank 3": "#009E73",
    "Tensor rank 4": "#D55E00",
    "Tensor rank 5": "#56B4E9",
    "Tensor rank 6": "#F0E442",
}
_HIGH_RANK_GREYS = ("#999999", "#666666", "#BBBBBB", "#444444")
_OUTER, _WIDTH = 1.0, 0.38
_TITLE_SIZES = (14, 13, 12, 11, 10)
_TITLE_MAX_CHARS = 120  # more never fits at the smallest size; saves measuring each one
_LEGEND_SIZES = (11, 10, 9, 8, 7, 6)
# Where title and legend must stay, in figure fractions (x0, y0, x1, y1).
_TITLE_BOX = (0.02, 0.88, 0.98, 1.0)
_LEGEND_BOX = (0.5, 0.01, 0.99, 0.85)


def form_colour(form: str) -> str:
    """The colour of ``form`` in every chart; ranks beyond 6 get a fixed grey by rank."""
    if form in FORM_COLOURS:
        return FORM_COLOURS[form]
    return _HIGH_RANK_GREYS[(form_rank(form) - 7) % len(_HIGH_RANK_GREYS)]


def render_chart(report: ParamFormReport, path: str | os.PathLike[str], *, dpi: int = 100) -> Path:
    """Draw the chart of ``report`` to the PNG ``path`` (8x5 inches) and return that path.

    The file is replaced atomically and its folder created when missing.
    """
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise ValueError(f"dpi must be a positive integer, got {dpi!r}")
    buffer = io.BytesIO()
    with internal_warnings_ignored(CHART_MODULES):
        figure = build_figure(report)
        try:
            figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
        finally:
            figure.clear()
    target = Path(path)
    write_bytes(target, buffer.getvalue())
    return target


def build_figure(report: ParamFormReport) -> Figure:
    """The chart as a matplotlib Figure on an Agg canvas (tests inspect its text extents)."""
    require("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGSIZE, dpi=100, facecolor="white")
    FigureCanvasAgg(figure)
    _add_title(figure, report.name)
    figure.text(0.5, 0.875, _subtitle(report), ha="center", fontsize=10, color="#444444")
    ring = figure.add_axes((0.03, 0.04, 0.46, 0.78))
    _draw_ring(ring, report)
    _add_legend(figure, report)
    return figure


def _fits(figure: Figure, artist: Artist, box: tuple[float, float, float, float]) -> bool:
    """Whether ``artist`` lies inside ``box`` (figure fractions: x0, y0, x1, y1)."""
    extent = artist.get_window_extent().transformed(figure.transFigure.inverted())
    return bool(
        box[0] <= extent.x0 and box[1] <= extent.y0 and extent.x1 <= box[2] and extent.y1 <= box[3]
    )


def _add_title(figure: Figure, name: str) -> None:
    """Shrink the title to fit the width, then shorten a very long name in its middle."""
    keep = min(len(name), _TITLE_MAX_CHARS)
    title = figure.suptitle(_title(name, keep), fontsize=14, y=0.96, parse_math=False)
    for size in _TITLE_SIZES:
        title.set_fontsize(size)
        if _fits(figure, title, _TITLE_BOX):
            return
    while keep > 2 and not _fits(figure, title, _TITLE_BOX):
        keep -= 2
        title.set_text(_title(name, keep))


def _title(name: str, keep: int) -> str:
    """The title with only ``keep`` characters of the name, cut in its middle."""
    if keep < len(name):
        name = f"{name[: keep - keep // 2]}...{name[len(name) - keep // 2 :]}"
    return f"{name}: parameters by form"


def _subtitle(report: ParamFormReport) -> str:
    layers = "layer" if report.num_layers == 1 else "layers"
    return f"{report.num_parameters:,} parameters in {report.num_layers:,} {layers}"


def _draw_ring(ax: Axes, report: ParamFormReport) -> None:
    from matplotlib.patches import Wedge

    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    ax.set_axis_off()
    total = report.num_parameters
    if total == 0:
        ax.add_patch(Wedge((0, 0), _OUTER, 0, 360, width=_WIDTH, facecolor=EMPTY_RING))
        ax.text(0, 0, "no parameters", ha="center", va="center", fontsize=12, color="#666666")
        return
    start = 90.0  # clockwise from twelve o'clock, in the legend's order
    for form in report.forms:
        span = 360.0 * report.parameters_of(form) / total
        if span > 0:
            wedge = Wedge((0, 0), _OUTER, start - span, start, width=_WIDTH)
            wedge.set(facecolor=form_colour(form), edgecolor="white", linewidth=0.8, label=form)
            ax.add_patch(wedge)
            start -= span
    ax.text(0, 0.06, short_count(total), ha="center", va="center", fontsize=20, weight="bold")
    ax.text(0, -0.16, "parameters", ha="center", va="center", fontsize=10, color="#444444")


def _add_legend(figure: Figure, report: ParamFormReport) -> None:
    """The legend beside the ring, in the largest font size that keeps it inside its box."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=form_colour(form), edgecolor="#333333", linewidth=0.5)
        for form in report.forms
    ]
    labels = legend_labels(report)
    for size in _LEGEND_SIZES:
        legend = figure.legend(
            handles,
            labels,
            loc="center left",
            bbox_to_anchor=(0.52, 0.43),
            frameon=False,
            prop={"family": "monospace", "size": size},
            handlelength=1.6,
            handleheight=1.2,
            labelspacing=0.9,
        )
        if size == _LEGEND_SIZES[-1] or _fits(figure, legend, _LEGEND_BOX):
            return
        legend.remove()


def legend_labels(report: ParamFormReport) -> list[str]:
    """One line per form, columns padded to align: ``Matrix  97.14%  (3,404,672)``."""
    forms = report.forms
    shares = [_share_text(report.parameters_of(f), report.num_parameters) for f in forms]
    counts = [f"({report.parameters_of(f):,})" for f in forms]
    name_width = max(map(len, forms))
    share_width = max(map(len, shares))
    count_width = max(map(len, counts))
    return [
        f"{f:<{name_width}}  {s:>{share_width}}  {c:>{count_width}}"
        for f, s, c in zip(forms, shares, counts, strict=True)
    ]


def _share_text(part: int, whole: int) -> str:
    """Percent with 2 decimals that never rounds a real share to 0 or a partial one to 100."""
    share = percent(part, whole)
    if 0 < share < 0.005:
        return "<0.01%"
    if part < whole and share >= 99.995:
        return ">99.99%"
    return f"{share:.2f}%"
