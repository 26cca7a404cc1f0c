"""Tests of `layersim.report.plots`: every plot is a valid PNG of the size it is drawn at,
without the `Software` text or a timestamp, and the same figures give the same bytes."""

from __future__ import annotations

import struct
import zlib

import pytest

from layersim.report.plots import (
    DPI,
    containers_plot,
    pull_time_plot,
    run_plots,
    sharing_plot,
    storage_plot,
    sweep_plot,
    transfer_plot,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The (type, payload) chunks of a PNG, each CRC checked; fails on anything else."""
    assert data[:8] == PNG_SIGNATURE
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + payload) == crc, kind
        chunks.append((kind, payload))
        offset += 12 + length
    return chunks


def check_png(data: bytes, width_inches: float, height_inches: float) -> None:
    """A valid PNG: IHDR first, at `DPI` pixels per inch; image data that inflates; IEND last;
    no text chunk naming the software and no time chunk."""
    chunks = png_chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (round(width_inches * DPI), round(height_inches * DPI))
    zlib.decompress(b"".join(payload for kind, payload in chunks if kind == b"IDAT"))
    assert b"tIME" not in kinds
    assert not any(b"Software" in payload for kind, payload in chunks if kind == b"tEXt")


RUN_PLOTS = [
    (storage_plot, 11, 4.4),
    (transfer_plot, 11, 4.4),
    (sharing_plot, 11, 4.2),
    (pull_time_plot, 11, 4.4),
    (containers_plot, 7, 4.2),
]


@pytest.mark.parametrize(
    ("plot", "width", "height"), RUN_PLOTS, ids=lambda p: getattr(p, "__name__", "")
)
def test_run_plot_is_a_stable_png(tiny, plot, width, height):
    """Each plot of a run is a valid PNG of its size, and drawing it again gives the same
    bytes."""
    _, result = tiny
    first = plot(result)
    check_png(first, width, height)
    assert plot(result) == first


def test_run_plots_in_report_order(tiny):
    """run_plots names every plot of a run by its file, in report order."""
    plots = run_plots(tiny[1])
    assert list(plots) == [
        "storage.png",
        "transfer.png",
        "sharing.png",
        "pull_time.png",
        "lazy.png",
        "containers.png",
    ]
    for data in plots.values():
        assert data[:8] == PNG_SIGNATURE


def _stats(*means: float) -> list[tuple[float, float, float]]:
    return [(m, m - 0.01, m + 0.02) for m in means]


@pytest.mark.parametrize(
    "x_values",
    [[50, 100, 200, 400], [1, 2, 3, 4], ["alpine", "debian", "ubuntu", "all"]],
    ids=["geometric", "linear", "categories"],
)
def test_sweep_plot_is_a_stable_png(x_values):
    """The sweep plot of one panel is a valid PNG for a geometric, a linear and a categorical
    axis, and the same figures give the same bytes."""
    series = {"": {"registry: layers vs flattened": _stats(0.5, 0.6, 0.7, 0.8)}}
    first = sweep_plot("apps.count", x_values, series, title="t")
    check_png(first, 5.5 + 1, 4.3 + 0.4)
    assert sweep_plot("apps.count", x_values, series, title="t") == first


def test_sweep_plot_grid_of_panels():
    """Four panels are drawn three to a row (two rows), and another title changes the
    bytes."""
    panels = {f"metric {k}": {"a=1": _stats(0.1, 0.2), "a=2": _stats(0.3, 0.4)} for k in range(4)}
    first = sweep_plot("x", [1, 2], panels, title="four panels")
    check_png(first, 5.5 * 3 + 1, 4.3 * 2 + 0.4)
    assert sweep_plot("x", [1, 2], panels, title="other") != first


def test_pngs_are_pngs(folder):
    """Every PNG a run writes starts with the PNG signature and names no software."""
    for path in folder.glob("*.png"):
        assert path.read_bytes()[:8] == PNG_SIGNATURE
        assert b"Software" not in path.read_bytes()[:200]
