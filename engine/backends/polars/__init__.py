"""The polars backend: the IR compiled to polars expressions and run as one lazy query, then audited."""
