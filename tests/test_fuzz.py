"""The short fuzz campaign of the suite: seeded mutants of the shipped specs through the CLI.

Every run must exit 0 with consistent output, or exit 2 with one error line and no
traceback, under 5 s of CPU and 1 GiB (the contract of tests/fuzzing.py). The long run
(10,000 mutants and more) is ``python tests/fuzzing.py --count 10000``; its figures are in
docs/limits.md. Seeds differ from the long run's, so the suite adds coverage, not repeats.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fuzzing import campaign  # noqa: E402

MUTANTS = 60  # about 20 s on the 2-core CI machine


def test_fuzz_campaign_keeps_the_contract(tmp_path):
    figures = campaign(MUTANTS, seed=20261130, folder=tmp_path)
    assert figures["inputs"] == MUTANTS
    assert figures["failures"] == [], figures["failures"][:5]
    assert figures["clean"] == MUTANTS
    # the campaign must exercise both outcomes, or it checks less than it claims
    assert figures["exit0"] >= 5 and figures["exit2"] >= 5, figures
