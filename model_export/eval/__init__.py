"""Pieces of ``lifeup evaluate``: labelled windows, metrics, and the report."""
