"""indexlab: composite indices as YAML methodologies, compiled via sympy into one polars query."""
