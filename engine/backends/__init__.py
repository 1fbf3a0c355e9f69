"""Engines that run a plan: polars (the default)."""
