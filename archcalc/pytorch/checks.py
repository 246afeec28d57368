"""One check row, shared by the verification modules (``verify`` and ``memtrack``), so that
neither imports the other for it: ``verify`` uses ``memtrack``, never the reverse."""
from __future__ import annotations


def row(check: str, name: str, op: str, analytic, measured) -> dict:
    return {"check": check, "name": name, "op": op, "analytic": analytic, "measured": measured,
            "ok": analytic == measured}
