"""``archcalc zoo``: the zoo table (specs/zoo/ against torchvision). Thin layer over :mod:`archcalc.zoo`."""
from __future__ import annotations

from typing import List, Optional

import typer

from archcalc.cli.common import Format, echo, fmt_int, spec_errors, write_csv, write_json, write_markdown, write_text_table

COLUMNS = ("network", "params", "madds_224", "points", "exact", "failing")
HEADERS = ("network", "params", "MAdds at 224", "points", "equal to torchvision", "differs at")


def _rows(table) -> list[dict]:
    """Plain Python rows: ints, bools, None where a spec did not compile."""
    import pandas as pd

    def plain(key, value):
        if value is None or value is pd.NA:
            return None
        return bool(value) if key == "exact" else int(value) if key in ("params", "madds_224", "points") else value

    return [{key: plain(key, value) for key, value in row.items()} for row in table.reset_index().to_dict("records")]


def register(app: typer.Typer) -> None:
    @app.command()
    @spec_errors
    def zoo(
        networks: Optional[List[str]] = typer.Argument(None, help="torchvision builder names (default: the whole zoo)"),
        fmt: Format = typer.Option(Format.table, "--format", help="table, csv, json or markdown"),
    ) -> None:
        """The zoo table: network | params | MAdds at 224 | equal to torchvision at every listed
        resolution and width (archcalc/reference/zoo_torchvision.csv); exit 1 if any is not."""
        from archcalc.zoo import zoo_table

        rows = _rows(zoo_table(networks or None))
        show = lambda value: "yes" if value is True else "NO" if value is False else fmt_int(value)  # noqa: E731
        if fmt is Format.json:
            echo(write_json(rows))
        elif fmt is Format.csv:
            echo(write_csv(rows, COLUMNS, comments=["expected values: torchvision 0.28.0 (scripts/make_zoo_reference.py)"]))
        elif fmt is Format.markdown:
            echo(write_markdown(rows, COLUMNS, HEADERS, formatters={c: show for c in COLUMNS}))
        else:
            exact = sum(row["exact"] for row in rows)
            echo(write_text_table(
                "archcalc zoo: specs/zoo/ vs torchvision 0.28.0 (params, params without norm, conv+linear MACs, "
                "every shape)", HEADERS, [[show(row[c]) for c in COLUMNS] for row in rows],
                [f"{exact}/{len(rows)} exact", "", "", str(sum(r["points"] for r in rows)), "", ""],
                [False, True, True, True, False, False]))
        if not all(row["exact"] for row in rows):
            raise typer.Exit(1)
