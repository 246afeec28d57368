"""Verification against PyTorch: the only package that imports torch and fvcore at module level."""
from archcalc.pytorch.materialize import Network, example_input, materialize

__all__ = ["Network", "example_input", "materialize"]
