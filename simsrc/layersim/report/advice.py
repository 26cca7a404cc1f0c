"""The report of `layersim advise`: every advice as JSON, or as a table.

`advice_to_json` gives exactly `{"advice": [{"image", "kind", "layers", "saves_tar_bytes",
"saves_compressed_bytes", "saves_disk_bytes", "where", "estimated", "detail"}...]}`, in the
order `advice.advise` sorts them (largest saving first); `layers` lists the labels of the
layers changed, base first. `fleet_advice_table` is the same advice for a generated fleet's
final state, as the `run` report's `advice.csv`. The figures are `layersim.advice`'s; this
module only arranges them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from layersim.advice.advise import Advice
from layersim.advice.fleet import FLEET_MAX_IMAGES, RELAYER_MAX_IMAGES, FleetAdvice
from layersim.report.tables import COMPRESSED, DISK, TAR, Column, Table, print_tables

ADVICE_KEYS = (
    "image",
    "kind",
    "layers",
    "saves_tar_bytes",
    "saves_compressed_bytes",
    "saves_disk_bytes",
    "where",
    "estimated",
    "detail",
)


def _advice(advice: Advice) -> dict[str, Any]:
    row = {key: getattr(advice, key) for key in ADVICE_KEYS}
    row["layers"] = list(advice.layers)
    return row


def advice_to_json(advice: Sequence[Advice]) -> dict[str, Any]:
    """The JSON document of `layersim advise` (module docstring)."""
    return {"advice": [_advice(a) for a in advice]}


def advice_table(doc: Mapping[str, Any]) -> RichTable:
    """One row per advice, largest saving first; compressed savings marked `~` when
    estimated. Names are shown as written, never read as markup."""
    table = RichTable(title="Advice (bytes saved)", title_justify="left")
    headers = ("image", "kind", "layers", "tar", "compressed", "disk", "where", "detail")
    for index, header in enumerate(headers):
        numeric = 3 <= index <= 5
        table.add_column(header, justify="right" if numeric else "left", overflow="fold")
    for row in doc["advice"]:
        table.add_row(
            Text(row["image"]),
            row["kind"],
            Text(", ".join(row["layers"])),
            f"{row['saves_tar_bytes']:,}",
            ("~" if row["estimated"] else "") + f"{row['saves_compressed_bytes']:,}",
            f"{row['saves_disk_bytes']:,}",
            row["where"],
            Text(row["detail"]),
        )
    return table


def render_advice(doc: Mapping[str, Any], console: Console) -> None:
    """Print the advice table on `console` (or a line saying there is none)."""
    if not doc["advice"]:
        console.print("no advice: no change to these images saves bytes", highlight=False)
        return
    print_tables(console, advice_table(doc))
    if any(row["estimated"] for row in doc["advice"]):
        console.print(
            "~ estimated: the changed layers' compressed bytes are summed from their entries' "
            "shares, not compressed (relayer; or registry references, or --no-measure)",
            highlight=False,
        )


def fleet_advice_table(fleet: FleetAdvice) -> Table:
    """advice.csv of a run: one row per advice for the final state, largest saving first."""
    skipped = ""
    if fleet.skipped:
        skipped = (
            f" No advice was computed: the final state holds {fleet.images:,} images, more "
            f"than {FLEET_MAX_IMAGES:,} (docs/advise.md)."
        )
    elif fleet.relayer_skipped:
        skipped = (
            f" relayer was not computed: the final state holds {fleet.images:,} images, more "
            f"than {RELAYER_MAX_IMAGES:,} (docs/advise.md)."
        )
    return Table(
        name="advice",
        title="Advice for the final state",
        meaning=(
            "What to change in the images the registry and the nodes hold at the end, and what "
            "the engine measures it saves for the set (tar bytes of its distinct layers, the "
            "registry's compressed and the nodes' disk bytes under layer sharing), largest "
            "saving first; `layersim advise` for real images, docs/advise.md for each kind."
            + skipped
        ),
        columns=(
            Column.text("image", lambda a: a.image),
            Column.text("kind", lambda a: a.kind),
            Column.text("target", lambda a: a.target),
            Column.count("layers", lambda a: len(a.layers), "layers changed"),
            Column.bytes("saves_tar_bytes", TAR, lambda a: a.saves_tar_bytes),
            Column.bytes("saves_compressed_bytes", COMPRESSED, lambda a: a.saves_compressed_bytes),
            Column.bytes("saves_disk_bytes", DISK, lambda a: a.saves_disk_bytes),
            Column.text("where", lambda a: a.where),
            Column.flag("estimated", "compressed saving estimated", lambda a: a.estimated),
            Column.text("detail", lambda a: a.detail),
        ),
        rows=fleet.advice,
    )
