"""The donut chart: a real, legible PNG with fixed colours, without pyplot."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from itertools import combinations
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

import numpy as np
from matplotlib.image import imread
from matplotlib.patches import Wedge
from matplotlib.text import Text

from pytest_paramform.chart import (
    FORM_COLOURS,
    build_figure,
    form_colour,
    legend_labels,
    render_chart,
)
from pytest_paramform.errors import MissingExtraError
from pytest_paramform.formats import from_markdown
from pytest_paramform.report import ParamFormReport, ParamRow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def report(name: str, *shapes: tuple[int, ...]) -> ParamFormReport:
    return ParamFormReport(name, tuple(ParamRow(f"p{i}", s) for i, s in enumerate(shapes)))


@pytest.fixture(scope="module")
def seed(seed_text: str) -> ParamFormReport:
    return from_markdown(seed_text)


@pytest.fixture(scope="module")
def seed_png(seed: ParamFormReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_chart(seed, tmp_path_factory.mktemp("chart") / "mobilenet_v2.png")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    assert zlib.crc32(data[12:29]) == struct.unpack(">I", data[29:33])[0]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def pixels(path: Path) -> np.ndarray:
    """The image as an (h, w, 3) array of 0-255 integers."""
    rgb: np.ndarray = np.rint(imread(path)[..., :3] * 255).astype(int)
    return rgb


def fraction_of(image: np.ndarray, hex_colour: str, tolerance: int = 3) -> float:
    rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    close = np.all(np.abs(image - rgb) <= tolerance, axis=-1)
    return float(close.mean())


def test_png_is_800_by_500_with_real_content(seed_png: Path) -> None:
    data = seed_png.read_bytes()
    width, height = png_size(data)
    assert abs(width - 800) <= 3
    assert abs(height - 500) <= 3
    assert 10_000 < len(data) < 500_000


def test_dpi_scales_the_image(seed: ParamFormReport, tmp_path: Path) -> None:
    path = render_chart(seed, tmp_path / "big.png", dpi=200)
    width, height = png_size(path.read_bytes())
    assert abs(width - 1600) <= 6
    assert abs(height - 1000) <= 6


@pytest.mark.parametrize("dpi", [0, -5, True])
def test_bad_dpi_is_refused_with_its_value(seed: ParamFormReport, tmp_path: Path, dpi: int) -> None:
    with pytest.raises(ValueError, match=f"positive integer, got {dpi!r}"):
        render_chart(seed, tmp_path / "x.png", dpi=dpi)
    assert not list(tmp_path.iterdir())


def test_matrix_dominates_and_every_form_colour_shows(seed_png: Path) -> None:
    image = pixels(seed_png)
    assert fraction_of(image, FORM_COLOURS["Matrix"]) > 0.10
    for form in ("Vector", "Tensor rank 3", "Tensor rank 4"):
        assert fraction_of(image, FORM_COLOURS[form]) * image[..., 0].size >= 50, form
    assert fraction_of(image, "#FFFFFF") > 0.4
    distinct = {tuple(rgb) for rgb in image.reshape(-1, 3)}
    assert len(distinct) > 20  # text anti-aliasing as well as the flat wedges


def test_form_colours_are_fixed_and_distinct() -> None:
    known = [form_colour(f) for f in FORM_COLOURS]
    assert len(set(known)) == len(known)
    assert form_colour("Matrix") == "#0072B2"
    higher = [form_colour(f"Tensor rank {r}") for r in range(7, 11)]
    assert len(set(higher)) == 4
    assert not set(higher) & set(known)


def test_matrix_has_the_same_colour_in_every_model(seed: ParamFormReport) -> None:
    other = report("tiny", (3, 4), (4,))
    for model in (seed, other):
        wedges = {w.get_label(): w.get_facecolor() for w in ring_wedges(model)}
        assert wedges["Matrix"] == pytest.approx((0.0, 0x72 / 255, 0xB2 / 255, 1.0))


def ring_wedges(model: ParamFormReport) -> list[Wedge]:
    (ax,) = build_figure(model).axes
    return [p for p in ax.patches if isinstance(p, Wedge)]


def test_legend_lists_share_and_count_per_form(seed: ParamFormReport) -> None:
    labels = [" ".join(label.split()) for label in legend_labels(seed)]
    assert labels == [
        "Vector 1.00% (35,112)",
        "Matrix 97.14% (3,404,672)",
        "Tensor rank 3 1.83% (64,224)",
        "Tensor rank 4 0.02% (864)",
    ]
    assert len({len(label) for label in legend_labels(seed)}) == 1  # aligned columns


def test_tiny_shares_never_round_to_zero_or_a_hundred() -> None:
    labels = legend_labels(report("m", (100_000, 1000), (3,)))
    assert ">99.99%" in labels[1]
    assert "<0.01%" in labels[0]


def texts_of(model: ParamFormReport) -> tuple[list[Text], list[Text]]:
    """Every visible text of the chart, and those of the legend, laid out at 100 dpi."""
    figure = build_figure(model)
    figure.canvas.draw()
    (legend,) = figure.legends
    everything = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text()]
    return everything, list(legend.get_texts())


def boxes_overlap(a: Text, b: Text) -> bool:
    return bool(a.get_window_extent().overlaps(b.get_window_extent()))


MANY_FORMS = report(
    "a_really_long_model_name_for_vision_transformer_huge_patch14_clip_quickgelu_448_v2",
    *[(3,) * r for r in range(11)],
    (40_000, 50_000),
)


@pytest.mark.parametrize(
    "model",
    [None, MANY_FORMS, report("empty"), report("x" * 500, (3, 3))],
    ids=["seed", "many-forms-long-name", "empty", "very-long-name"],
)
def test_no_text_overlaps_and_all_stays_inside(
    model: ParamFormReport | None, seed: ParamFormReport
) -> None:
    chart = seed if model is None else model
    everything, legend_texts = texts_of(chart)
    assert len(legend_texts) == len(chart.forms)
    assert len(everything) >= len(legend_texts) + 3  # title, subtitle, ring centre
    for a, b in combinations(everything, 2):
        assert not boxes_overlap(a, b), (a.get_text(), b.get_text())
    for text in everything:
        box = text.get_window_extent()
        assert min(box.x0, box.y0) >= 0, text.get_text()
        assert box.x1 <= 800, text.get_text()
        assert box.y1 <= 500, text.get_text()


def test_legend_stays_clear_of_the_ring(seed: ParamFormReport) -> None:
    for chart in (seed, MANY_FORMS):
        figure = build_figure(chart)
        figure.canvas.draw()
        (legend,) = figure.legends
        ring_right = max(w.get_window_extent().x1 for w in figure.axes[0].patches)
        assert legend.get_window_extent().x0 > ring_right


def test_title_names_the_model_and_centre_shows_the_short_total(seed: ParamFormReport) -> None:
    figure = build_figure(seed)
    assert figure.get_suptitle() == "mobilenet_v2: parameters by form"
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.texts] == ["3.50M", "parameters"]
    assert "3,504,872 parameters in 158 layers" in [t.get_text() for t in figure.texts]


def test_a_very_long_name_is_shortened_in_the_middle() -> None:
    title = build_figure(report("start_" + "x" * 300 + "_end", (2, 2))).get_suptitle()
    assert title.startswith("start_")
    assert title.endswith("_end: parameters by form")
    assert "..." in title


def test_dollar_signs_in_names_are_not_mathtext(tmp_path: Path) -> None:
    """Read as mathtext, this name is a syntax error that stops the chart from drawing."""
    model = report("net$\\frac$v2", (2, 2))
    render_chart(model, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 0
    assert build_figure(model).get_suptitle() == "net$\\frac$v2: parameters by form"


def test_zero_forms_are_listed_but_get_no_wedge(tmp_path: Path) -> None:
    model = report("convs", (8, 3, 3, 3))
    assert [w.get_label() for w in ring_wedges(model)] == ["Tensor rank 4"]
    labels = legend_labels(model)
    assert [label.split()[-2:] for label in labels] == [
        ["0.00%", "(0)"],
        ["0.00%", "(0)"],
        ["100.00%", "(216)"],
    ]
    image = pixels(render_chart(model, tmp_path / "convs.png"))
    assert fraction_of(image, FORM_COLOURS["Tensor rank 4"]) > 0.10
    assert fraction_of(image, FORM_COLOURS["Matrix"]) * image[..., 0].size < 500  # patch only


@pytest.mark.parametrize(
    "model", [report("empty"), report("zeros", (0, 3), (0,))], ids=["no-rows", "zero-sized"]
)
def test_no_parameters_draws_an_empty_ring(model: ParamFormReport, tmp_path: Path) -> None:
    path = render_chart(model, tmp_path / "empty.png")
    assert png_size(path.read_bytes()) == (800, 500)
    (ax,) = build_figure(model).axes
    assert [t.get_text() for t in ax.texts] == ["no parameters"]
    assert len(ax.patches) == 1
    assert all(label.split()[-2:] == ["0.00%", "(0)"] for label in legend_labels(model))


def test_writes_atomically_into_new_folders(seed: ParamFormReport, tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "chart.png"
    assert render_chart(seed, str(target)) == target
    first = target.read_bytes()
    target.write_bytes(b"old")
    assert render_chart(seed, target) == target
    assert target.read_bytes() == first  # same input, same bytes
    assert [p.name for p in target.parent.iterdir()] == ["chart.png"]


def test_a_failed_render_leaves_the_old_file(
    seed: ParamFormReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    target = tmp_path / "chart.png"
    target.write_bytes(b"old")

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        render_chart(seed, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]


def test_missing_matplotlib_names_the_plot_extra(
    seed: ParamFormReport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"pytest-paramform\[plot\]"):
        render_chart(seed, tmp_path / "chart.png")
    assert not list(tmp_path.iterdir())


def test_never_imports_pyplot_nor_sets_the_backend(tmp_path: Path) -> None:
    script = f"""
import sys
import matplotlib
matplotlib.use = lambda *args, **kwargs: sys.exit("matplotlib.use called")
from pytest_paramform.chart import render_chart
from pytest_paramform.report import ParamFormReport, ParamRow
render_chart(ParamFormReport("m", (ParamRow("w", (3, 4)),)), {str(tmp_path / "c.png")!r})
assert "matplotlib.pyplot" not in sys.modules, "pyplot imported"
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c.png").is_file()
