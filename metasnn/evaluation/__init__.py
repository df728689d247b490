"""Evaluation protocols, robustness sweeps, cross-dataset tests and statistics."""
