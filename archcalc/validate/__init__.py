"""Recompute every published number archcalc knows about and say which ones agree.

The published values are data (``archcalc/reference/published_tables.csv`` for the paper's
Tables 1-7 and its text; ``mnv2_checkpoints.csv`` and ``mnv1_checkpoints.csv`` for the TF-slim
checkpoint tables and the MobileNetV1 paper), each with its source named in the row; a
published value is always the source's own number (or formula), never archcalc's. Every
computed value comes from a spec in ``specs/`` compiled by archcalc.

One comparison rule (docs/validation.md): the printed digits decide the tolerance. A value
matches when it rounds (half up) to the printed digits, or truncates to them where the source
truncates; within one unit of the last printed digit it is a *near miss*, labelled so. Each rule
is tried across all of a row's counting conventions before the next (looser) one.

Statuses: ``match`` (the row's own convention, rounding); ``match under a stated convention``
(another stated convention or the truncating reading); ``match under a derived convention`` (a
convention fitted to these numbers); ``near miss``; ``differs`` (the row says what the network
has and what would have to differ); ``paper inconsistency`` (the sources disagree with
themselves); ``not computed`` (no spec; none at present).

Every row also states what was *expected*. A row expected to match that does not, or a row
expected to differ that now matches (its explanation is stale), is a failure:
:func:`failures` lists them and ``archcalc validate`` exits 1.

Library first: :func:`validate` returns a pandas DataFrame; :func:`report` writes files.

The package: :mod:`~archcalc.validate.core` (the row, the rules, the statuses),
:mod:`~archcalc.validate.conventions` (counting conventions), one module per source
(:mod:`~archcalc.validate.paper`, :mod:`~archcalc.validate.slim`,
:mod:`~archcalc.validate.mnv1_paper`; a new table is one new module listed in ``SOURCES``),
and :mod:`~archcalc.validate.report`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from archcalc.validate import mnv1_paper, paper, slim
from archcalc.validate.conventions import (MF_SCALES, mf_madds, mf_resolutions, params_slim_v1,
                                           space_to_batch_extra)
from archcalc.validate.core import (COLUMNS, CONVENTION_MATCH, DEFAULT_SPECS, DERIVED_MATCH, DIFFERS, FAILING,
                                    INCONSISTENT, MATCH, MATCHING, NEAR_MISS, NO_BN, NOT_COMPUTED, PAPER_RULES,
                                    REFERENCE, REGRESSION, RULES, STALE, TRAINABLE, Check, Context, evaluate, failures,
                                    paper_rows, part, rule_exact, rule_last_digit, rule_printed_rounding,
                                    rule_truncation, summary, total)
from archcalc.validate.report import ReportResult, report, to_markdown

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# The sources, in report order; each module's ``checks(ctx, paper)`` returns its rows.
SOURCES = (paper, slim, mnv1_paper)

__all__ = [
    "COLUMNS", "CONVENTION_MATCH", "DEFAULT_SPECS", "DERIVED_MATCH", "DIFFERS", "FAILING", "INCONSISTENT", "MATCH",
    "MATCHING", "MF_SCALES", "NEAR_MISS", "NO_BN", "NOT_COMPUTED", "PAPER_RULES", "REFERENCE", "REGRESSION", "RULES",
    "SOURCES", "STALE", "TRAINABLE", "Check", "Context", "ReportResult", "checks", "evaluate", "failures", "mf_madds",
    "mf_resolutions", "params_slim_v1", "part", "report", "rule_exact", "rule_last_digit", "rule_printed_rounding",
    "rule_truncation", "space_to_batch_extra", "summary", "to_markdown", "total", "validate",
]


def checks(specs: str | Path | None = None) -> list[Check]:
    """Every check, in report order."""
    ctx = Context(Path(specs) if specs else DEFAULT_SPECS)
    published = paper_rows()
    result = [check for source in SOURCES for check in source.checks(ctx, published)]
    # a published row is covered by a check of its id, or by per-cell checks "<id>.<column>"
    covered = {c.id for c in result} | {c.id.rsplit(".", 1)[0] for c in result}
    missing = sorted(set(published) - covered)
    if missing:  # every published row must be accounted for
        raise ValueError(f"published_tables.csv rows without a check: {', '.join(missing)}")
    return result


def validate(specs: str | Path | None = None) -> "pd.DataFrame":
    """Recompute every published number; one row per number (see the module docstring)."""
    import pandas as pd

    return pd.DataFrame([evaluate(c) for c in checks(specs)], columns=list(COLUMNS))
