"""The report of `layersim advise`: every advice as JSON, or as a table.

`advice_to_json` gives exactly `{"advice": [{"image", "kind", "layers", "saves_tar_bytes",
"saves_compressed_bytes", "saves_disk_bytes", "where", "estimated", "detail"}...]}`, in the
order `advice.advise` sorts them (largest saving first); `layers` lists the labels of the
layers changed, base first. The figures are `layersim.advice.advise`'s; this module only
arranges them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from layersim.advice.advise import Advice
from layersim.report.tables import print_tables

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


def advice_table(doc: Mapping[str, Any]) -> Table:
    """One row per advice, largest saving first; compressed savings marked `~` when
    estimated. Names are shown as written, never read as markup."""
    table = Table(title="Advice (bytes saved)", title_justify="left")
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
            "shares, not compressed",
            highlight=False,
        )
