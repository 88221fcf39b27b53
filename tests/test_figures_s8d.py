"""Fig 7's 3-D maps at a size a reader sees (issue 23: "the 3-D scatters are tiny": A and D-G were about an
inch wide on the printed page while a block of notes filled its bottom). Checked on small synthetic inputs, at
print size, through the same save hook and audit as the workflow's plotting rule."""

from __future__ import annotations

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from test_figures import NOTICE, _assert_clean, _fig7_inputs, audited, saved  # noqa: E402, F401

from usvflow.figures import checks, style  # noqa: E402

A_MIN_IN, MAP_MIN_IN = 2.3, 1.6  # the reviewer's sizes: A the main panel, D-G each


def _printed_width(fig, ax) -> float:
    """An axes' drawn width (inches) once the page is printed at the print width."""
    fig.canvas.draw()  # 3-D axes are squared when drawn
    return ax.get_position().width * fig.get_figwidth() * min(1.0, style.PRINT_WIDTH_IN / style.page_width(fig))


def _cubes(fig) -> dict[str, plt.Axes]:
    """The 3-D panels by letter."""
    return {ax.get_title(loc="center")[0]: ax for ax in fig.axes if ax.name == "3d"}


def _draw(tmp_path, noise=True):
    from usvflow.figures.callspace import plot_fig7

    calls, grid, images, values, noise_table = _fig7_inputs()
    with style.script_figures(NOTICE["caption"]):
        fig = plot_fig7(calls, grid, images, values, NOTICE["cohort"], noise_table if noise else None)
        fig.savefig(tmp_path / f"fig7{'_noise' if noise else ''}.pdf")
    return fig


def test_fig7_a_is_the_main_panel_and_d_to_g_are_readable(tmp_path, saved, audited):  # noqa: F811
    fig = _draw(tmp_path)
    _assert_clean(audited)
    cubes = _cubes(fig)
    assert sorted(cubes) == list("ADEFG")
    widths = {k: _printed_width(fig, ax) for k, ax in cubes.items()}
    assert widths["A"] >= A_MIN_IN, widths
    assert widths["A"] >= max(widths.values()) - 1e-9, widths  # A is the largest map
    assert min(widths[k] for k in "DEFG") >= MAP_MIN_IN, widths
    # the page: the print width, one page tall, the letters in reading order
    assert style.page_width(fig) <= style.PRINT_WIDTH_IN + 0.01
    assert style.printed_height(fig) <= style.PRINT_HEIGHT_IN
    assert checks.panel_letters(fig)[:9] == list("ABCDEFGHI") and checks.order_problems(fig) == []
    # A is drawn with bigger dots than the video's panels (the map's own size rule, scaled)
    from usvflow.figures.movie import point_size

    dots = cubes["A"].collections[0].get_sizes()
    assert dots.min() > point_size(len(_fig7_inputs()[0])) * 1.5


def test_fig7_d_to_g_share_d_axes_and_e_to_g_keep_their_colour_bars(tmp_path, saved, audited):  # noqa: F811
    fig = _draw(tmp_path)
    cubes = _cubes(fig)
    d = cubes["D"]
    assert [d.get_xlabel(), d.get_ylabel(), d.get_zlabel()] == ["t-SNE 1", "t-SNE 2", "t-SNE 3"]
    bars = [ax for ax in fig.axes if hasattr(ax, "_colorbar")]
    for letter, unit in zip("EFG", ("kHz", "kHz", "ms")):
        ax = cubes[letter]
        assert "D's axes" in (checks.exemption(ax) or ""), letter
        assert ax.get_xlim() == d.get_xlim() and ax.get_zlim() == d.get_zlim()
        bar = next(b for b in bars if b._colorbar.mappable in ax.collections)  # noqa: SLF001
        assert bar.get_xlabel().endswith(f"({unit})")
        # under its panel, no wider than it
        box, cube = bar.get_position(), ax.get_position()
        assert box.y1 <= cube.y0 + 1e-6 and cube.x0 <= box.x0 and box.x1 <= cube.x1
    # C: three density images, each with its colour bar
    images = [ax for ax in fig.axes if ax.images and not hasattr(ax, "_colorbar") and ax.get_xlabel() == "t-SNE 1"]
    assert len(images) == 3 and all(ax.images[0].colorbar is not None for ax in images)


def test_fig7_notes_are_short_and_numbers_come_from_the_results(tmp_path, saved, audited):  # noqa: F811
    fig = _draw(tmp_path)
    note = next(t.get_text() for t in fig.texts if t.get_gid() == style.NOTE_GID)
    assert note.count("\n") + 1 <= 5, note
    flat = note.replace("\n", " ")
    _, _, _, values, _ = _fig7_inputs()
    for number in (f"{values['n_calls']} ({values['n_female']} F, {values['n_male']} M)",
                   f"confident: {values['n_confident']}", f"{values['dominant_cluster_size']} calls",
                   f"{100 * values['dominant_cluster_male_share']:.0f} % male",
                   f"p = {values['dominant_cluster_p_bonferroni']:.1e}"):
        assert number in flat, number
    # what the caption says is not repeated on the page
    assert "criterion" not in flat and "k-means, binomial test" not in flat


def test_fig7_longer_notes_take_their_room_from_the_panels_not_the_page(tmp_path, saved, audited):  # noqa: F811
    from usvflow.figures import callspace

    short = _draw(tmp_path)
    long_values = dict(_fig7_inputs()[3])
    long_values["dominant_cluster_sex"] = "F" * 400  # a note that runs to several lines more
    calls, grid, images, _, noise = _fig7_inputs()
    with style.script_figures(NOTICE["caption"]):
        tall = callspace.plot_fig7(calls, grid, images, long_values, NOTICE["cohort"], noise)
        tall.savefig(tmp_path / "fig7_long.pdf")
    _assert_clean(audited, 2)
    lines = next(t.get_text() for t in tall.texts if t.get_gid() == style.NOTE_GID).count("\n") + 1
    assert lines > callspace.FIG7_NOTE_LINES
    assert style.printed_height(tall) <= style.PRINT_HEIGHT_IN
    assert tall.get_figheight() < short.get_figheight()
    assert _printed_width(tall, _cubes(tall)["A"]) < _printed_width(short, _cubes(short)["A"]) + 1e-9


def test_fig7_without_noise_table_is_clean_and_keeps_the_sizes(tmp_path, saved, audited):  # noqa: F811
    fig = _draw(tmp_path, noise=False)
    _assert_clean(audited)
    widths = {k: _printed_width(fig, ax) for k, ax in _cubes(fig).items()}
    assert widths["A"] >= A_MIN_IN and min(widths[k] for k in "DEFG") >= MAP_MIN_IN, widths


def test_point_size_keeps_the_videos_default():
    from usvflow.figures.movie import point_size

    assert point_size(400) == 10.0 and point_size(4000) == 1.5 and point_size(1) == 14.0
    assert point_size(2000, 2.0) == 2 * point_size(2000)
    assert np.isclose(point_size(1675), 4000 / 1675)
