"""PNG plots of a run and of a sweep (matplotlib, Agg, no pyplot).

Each function takes plain figures and returns the PNG bytes; nothing here computes a size. A
figure is drawn on its own `matplotlib.figure.Figure` with an Agg canvas (no global pyplot
state, safe in worker processes) under matplotlib's default style (a user's matplotlibrc does
not change the output), and saved without the `Software` text chunk or any timestamp: with the
same matplotlib and FreeType, the same figures give the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, NullFormatter

from layersim.accounting.metrics import ALL_STRATEGIES
from layersim.simulation import SimulationResult

GB = 1e9
DPI = 100
# One colour and line style per strategy, in every plot.
STYLE: Mapping[str, dict[str, str]] = {
    "logical": {"color": "0.55", "linestyle": ":"},
    "flattened": {"color": "tab:red", "linestyle": "-"},
    "layer": {"color": "tab:blue", "linestyle": "-"},
    "file": {"color": "tab:green", "linestyle": "--"},
    "chunk_cdc": {"color": "tab:purple", "linestyle": "-."},
    "chunk_fixed": {"color": "tab:orange", "linestyle": "-."},
}
LABEL = {
    "logical": "logical (nothing shared; dotted over flattened where they agree)",
    "flattened": "flattened (export/import)",
    "layer": "layers (content-addressed)",
    "file": "file-level dedup",
    "chunk_cdc": "content-defined chunks (FastCDC)",
    "chunk_fixed": "fixed-size chunks",
}


# Margins of the run plots, fixed (a constrained layout would measure every label first and
# doubles the drawing time); the sweep plot, whose tick labels are the user's values, keeps
# matplotlib's constrained layout.
RUN_MARGINS = {"left": 0.065, "right": 0.985, "top": 0.86, "bottom": 0.13, "wspace": 0.2}
LEGEND_BELOW = {"bottom": 0.21}


def _figure(width: float, height: float, margins: Mapping[str, float] | None) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout=None if margins else "constrained")
    if margins:
        figure.subplots_adjust(**margins)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _plain(value: float, _position: object = None) -> str:
    return f"{value:g}"


class _PlainLogFormatter(LogFormatter):
    """matplotlib's choice of which log ticks to label (all minor ticks over a short span, some
    over one or two decades, none over more), written as plain numbers: `60`, not `6 x 10^1`."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return _plain(x)


def _log_y(axes: Axes) -> None:
    """A log y axis labelled with plain numbers."""
    axes.set_yscale("log")
    axes.yaxis.set_major_formatter(_PlainLogFormatter(labelOnlyBase=False))
    axes.yaxis.set_minor_formatter(
        _PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4))
    )


def _draw(  # type: ignore[no-untyped-def]
    build, width: float, height: float, margins: Mapping[str, float] | None = None
) -> bytes:
    with matplotlib.style.context("default"):
        figure = _figure(width, height, margins)
        build(figure)
        return _png(figure)


# --------------------------------------------------------------------------- a run


def storage_plot(result: SimulationResult) -> bytes:
    """Stored bytes by strategy over the epochs: registry (compressed) and nodes (disk, sum)."""

    def build(figure: Figure) -> None:
        left, right = figure.subplots(1, 2)
        stores = (
            (left, result.registry, "registry (compressed GB)"),
            (right, result.nodes, "nodes, sum over nodes (disk GB)"),
        )
        for axes, rows, title in stores:
            epochs = [r.epoch for r in rows]
            for strategy in ALL_STRATEGIES:
                if any(getattr(r, f"{strategy}_bytes") is None for r in rows):
                    continue  # a chunk strategy the fleet's contents do not measure
                values = [getattr(r, f"{strategy}_bytes") / GB for r in rows]
                # logical and flattened are often within a percent: logical is drawn on top,
                # wider and dotted, so that both stay visible
                on_top = {"zorder": 3, "linewidth": 2.5} if strategy == "logical" else {}
                axes.plot(
                    epochs,
                    values,
                    label=LABEL[strategy],
                    marker=".",
                    **STYLE[strategy],
                    **on_top,  # type: ignore[arg-type]
                )
            _log_y(axes)
            axes.set_title(title)
            axes.set_xlabel("epoch")
            axes.set_ylabel("GB stored (log scale)")
            axes.grid(True, which="both", alpha=0.3)
        figure.legend(
            *left.get_legend_handles_labels(), loc="lower center", ncols=3, fontsize="small"
        )
        figure.suptitle("Stored bytes at the end of each epoch, by strategy")

    return _draw(build, 11, 4.4, {**RUN_MARGINS, **LEGEND_BELOW})


def transfer_plot(result: SimulationResult) -> bytes:
    """Bytes pushed and pulled per epoch, layered vs flattened images (compressed)."""

    def build(figure: Figure) -> None:
        push, pull = figure.subplots(1, 2, sharey=False)
        epochs = [r.epoch for r in result.transfers]
        panels = (
            (push, "push_uploaded_bytes", "push_flattened_uploaded_bytes", "pushed to registry"),
            (pull, "pull_downloaded_bytes", "pull_flattened_downloaded_bytes", "pulled by nodes"),
        )
        for axes, layered, flattened, title in panels:
            axes.plot(
                epochs,
                [getattr(r, flattened) / GB for r in result.transfers],
                label=LABEL["flattened"],
                marker=".",
                **STYLE["flattened"],
            )
            axes.plot(
                epochs,
                [getattr(r, layered) / GB for r in result.transfers],
                label=LABEL["layer"],
                marker=".",
                **STYLE["layer"],
            )
            _log_y(axes)
            axes.set_title(f"{title} (compressed GB)")
            axes.set_xlabel("epoch (0 = first rollout to empty nodes)")
            axes.set_ylabel("GB per epoch (log scale)")
            axes.grid(True, which="both", alpha=0.3)
        figure.legend(
            *push.get_legend_handles_labels(), loc="lower center", ncols=2, fontsize="small"
        )
        figure.suptitle("Transfer per epoch: layered vs flattened images")

    return _draw(build, 11, 4.4, {**RUN_MARGINS, **LEGEND_BELOW})


def sharing_plot(result: SimulationResult) -> bytes:
    """Layers of the final registry by how many images reference them, and the bytes that
    sharing saves in each bucket."""

    def build(figure: Figure) -> None:
        count, saved = figure.subplots(1, 2)
        buckets = result.sharing.buckets
        labels = [b.label for b in buckets]
        positions = list(range(len(buckets)))
        count.bar(positions, [b.layers for b in buckets], color="tab:blue")
        count.set_title("layers by images referencing them")
        count.set_ylabel("layers")
        saved.bar(positions, [b.saved_bytes / GB for b in buckets], color="tab:green")
        saved.set_title("compressed GB saved by sharing them")
        saved.set_ylabel("GB saved")
        for axes in (count, saved):
            axes.set_xticks(positions, labels)
            axes.set_xlabel("images referencing the layer")
            axes.grid(True, axis="y", alpha=0.3)
        figure.suptitle("Layer sharing in the registry at the end")

    return _draw(build, 11, 4.2, RUN_MARGINS)


def pull_time_plot(result: SimulationResult) -> bytes:
    """Estimated pull time per pulling node (p50, p95) and the share of start-up spent pulling,
    per epoch, layered vs flattened."""

    def build(figure: Figure) -> None:
        seconds, share = figure.subplots(1, 2)
        rows = [r for r in result.transfers if r.pulls > 0]
        epochs = [r.epoch for r in rows]
        for strategy, prefix in (
            ("flattened", "flattened_pull_seconds"),
            ("layer", "pull_seconds"),
        ):
            style = STYLE[strategy]
            seconds.plot(
                epochs,
                [getattr(r, f"{prefix}_p95") for r in rows],
                label=f"{LABEL[strategy]}, p95",
                color=style["color"],
                linestyle="-",
                marker=".",
            )
            seconds.plot(
                epochs,
                [getattr(r, f"{prefix}_p50") for r in rows],
                label=f"{LABEL[strategy]}, p50",
                color=style["color"],
                linestyle="--",
            )
        _log_y(seconds)
        seconds.set_title("pull time per pulling node (s)")
        seconds.set_ylabel("seconds (log scale)")
        share.plot(
            epochs,
            [r.flattened_startup_pull_share * 100 for r in rows],
            label=LABEL["flattened"],
            marker=".",
            **STYLE["flattened"],
        )
        share.plot(
            epochs,
            [r.startup_pull_share * 100 for r in rows],
            label=LABEL["layer"],
            marker=".",
            **STYLE["layer"],
        )
        share.set_ylim(0, 100)
        share.set_title("share of container start-up spent pulling (%)")
        share.set_ylabel("% of start-up (mean over pulls)")
        for axes in (seconds, share):
            axes.set_xlabel("epoch")
            axes.grid(True, which="both", alpha=0.3)
        # one legend below both plots (the colours are the strategies' in both): a legend
        # inside an axes covered a line
        figure.legend(
            *seconds.get_legend_handles_labels(), loc="lower center", ncols=4, fontsize="small"
        )
        figure.suptitle("Estimated pull time (bandwidth/latency model), layered vs flattened")

    return _draw(build, 11, 4.4, {**RUN_MARGINS, **LEGEND_BELOW})


def lazy_plot(result: SimulationResult) -> bytes:
    """Per epoch with pulls, warm rollouts: the p95 seconds a pulling node waits before its
    containers start, and the compressed bytes fetched before they start, full vs lazy
    pulls."""

    def build(figure: Figure) -> None:
        seconds, fetched = figure.subplots(1, 2)
        rows = [r for r in result.lazy if r.pulls > 0]
        epochs = [r.epoch for r in rows]
        for label, prefix, style in (
            ("full pulls", "full_warm", {"color": "tab:blue", "linestyle": "-"}),
            ("lazy pulls", "lazy_warm", {"color": "tab:purple", "linestyle": "--"}),
        ):
            seconds.plot(
                epochs,
                [getattr(r, f"{prefix}_seconds_p95") for r in rows],
                label=f"{label}, p95",
                marker=".",
                **style,
            )
            column = "full_warm_bytes" if prefix == "full_warm" else "lazy_warm_startup_bytes"
            fetched.plot(
                epochs,
                [getattr(r, column) / GB for r in rows],
                label=label,
                marker=".",
                **style,
            )
        _log_y(seconds)
        _log_y(fetched)
        seconds.set_title("time before containers start, per pulling node (s)")
        seconds.set_ylabel("seconds (log scale)")
        fetched.set_title("bytes fetched before containers start (GB)")
        fetched.set_ylabel("compressed GB, all nodes (log scale)")
        for axes in (seconds, fetched):
            axes.set_xlabel("epoch")
            axes.grid(True, which="both", alpha=0.3)
            axes.legend(fontsize="small")
        figure.suptitle("Lazy pulls (eStargz, Nydus, Slacker) vs full pulls, warm rollouts")

    return _draw(build, 11, 4.2, RUN_MARGINS)


def containers_plot(result: SimulationResult) -> bytes:
    """Writable-layer bytes of running and stopped containers over the epochs (disk)."""

    def build(figure: Figure) -> None:
        axes = figure.subplots()
        rows = result.containers
        epochs = [r.epoch for r in rows]
        axes.stackplot(
            epochs,
            [r.running_writable_bytes / GB for r in rows],
            [r.stopped_writable_bytes / GB for r in rows],
            labels=["running containers", "stopped containers (lingering)"],
            colors=["tab:blue", "tab:orange"],
            alpha=0.8,
        )
        axes.set_xlabel("epoch")
        axes.set_ylabel("writable layers, disk GB (all nodes)")
        axes.set_title("Container writable layers at the end of each epoch")
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small", loc="upper left")

    return _draw(build, 7, 4.2, {**RUN_MARGINS, "left": 0.1, "right": 0.97})


def run_plots(result: SimulationResult) -> dict[str, bytes]:
    """Every plot of a run as {file name: PNG bytes}, in report order."""
    return {
        "storage.png": storage_plot(result),
        "transfer.png": transfer_plot(result),
        "sharing.png": sharing_plot(result),
        "pull_time.png": pull_time_plot(result),
        "lazy.png": lazy_plot(result),
        "containers.png": containers_plot(result),
    }


# --------------------------------------------------------------------------- a sweep


def sweep_plot(
    x_label: str,
    x_values: Sequence[float | str],
    series: Mapping[str, Mapping[str, Sequence[tuple[float, float, float]]]],
    *,
    title: str,
) -> bytes:
    """Savings against a parameter. `series` maps a panel title to {line label: [(mean, min,
    max) per x value]}; each line is the mean with its min-max band across seeds. Numeric x
    values are plotted on a numeric axis (logarithmic if they span a factor of 8 or more), any
    other as evenly spaced categories."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in x_values)
    xs: list[float] = (
        [float(v) for v in x_values] if numeric else [float(i) for i in range(len(x_values))]
    )
    # a grid that spans a factor of 8 or more (50, 100, 200, 400) reads best on a log axis
    geometric = numeric and min(xs) > 0 and max(xs) / min(xs) >= 8
    panels = list(series.items())
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)

    def build(figure: Figure) -> None:
        grid = list(figure.subplots(nrows, ncols, squeeze=False).flat)
        for axes in grid[len(panels) :]:
            axes.set_visible(False)
        for axes, (panel, lines) in zip(grid, panels, strict=False):
            for k, (label, stats) in enumerate(lines.items()):
                color = STYLE.get(label, {}).get("color", f"C{k % 10}")
                means = [s[0] * 100 for s in stats]
                axes.plot(xs, means, marker="o", label=label, color=color)
                axes.fill_between(
                    xs,
                    [s[1] * 100 for s in stats],
                    [s[2] * 100 for s in stats],
                    color=color,
                    alpha=0.15,
                    linewidth=0,
                )
            if not numeric:
                axes.set_xticks(xs, [str(v) for v in x_values], rotation=15, ha="right")
            elif geometric:
                axes.set_xscale("log")
                axes.set_xticks(xs, [_plain(x) for x in xs])
                axes.xaxis.set_minor_formatter(NullFormatter())
            axes.set_xlabel(x_label)
            axes.set_ylabel("saving (%)")
            axes.set_title(panel, fontsize="medium")
            axes.grid(True, alpha=0.3)
            axes.legend(fontsize="small")
        figure.suptitle(title)

    return _draw(build, 5.5 * ncols + 1, 4.3 * nrows + 0.4)
