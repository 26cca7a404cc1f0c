"""Tests of what `layersim.report.plots` draws (issue 17, item 10): the `logical` line is not
hidden under `flattened` in the storage plot, and no legend of the pull-time plot lies inside
an axes over its lines."""

from __future__ import annotations

from matplotlib.figure import Figure

from layersim.report import plots


def _figure_of(monkeypatch, draw, result) -> Figure:
    """The figure `draw(result)` builds (captured where it is turned into PNG bytes)."""
    captured: list[Figure] = []
    original = plots._png

    def capture(figure: Figure) -> bytes:
        captured.append(figure)
        return original(figure)

    monkeypatch.setattr(plots, "_png", capture)
    draw(result)
    return captured[0]


def test_logical_is_drawn_over_flattened(tiny, monkeypatch):
    """In both panels of storage.png the `logical` line lies above `flattened` (higher zorder,
    wider), and its legend entry says it is drawn over flattened where they agree."""
    _, result = tiny
    figure = _figure_of(monkeypatch, plots.storage_plot, result)
    for axes in figure.axes:
        lines = {line.get_label().split(" ")[0]: line for line in axes.get_lines()}
        logical, flattened = lines["logical"], lines["flattened"]
        assert logical.get_zorder() > flattened.get_zorder()
        assert logical.get_linewidth() > flattened.get_linewidth()
        assert "over flattened" in logical.get_label()


def test_pull_time_legend_is_outside_the_axes(tiny, monkeypatch):
    """pull_time.png has one legend, the figure's, below the plots (no axes carries one over
    its lines), with the four lines of the time panel."""
    _, result = tiny
    figure = _figure_of(monkeypatch, plots.pull_time_plot, result)
    assert [axes.get_legend() for axes in figure.axes] == [None, None]
    assert len(figure.legends) == 1
    assert len(figure.legends[0].get_texts()) == 4
