"""Dated reference data shipped with the package (prices, limits): data, not code."""
