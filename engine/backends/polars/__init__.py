"""The polars backend: the IR compiled to polars, run as one lazy query, then audited."""
