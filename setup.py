"""Packaging detail pyproject.toml cannot express: the repository's top-level ``specs/``
(the source of truth for the shipped specs) is installed as ``archcalc/specs`` so a
non-editable wheel can find them (archcalc.spec.shipped.shipped_specs_dir)."""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["archcalc", "archcalc.*"]), "archcalc.specs"],
    package_dir={"archcalc.specs": "specs"},
)
