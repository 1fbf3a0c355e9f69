"""The plan: every output column as an expression over columns, in stages and phases."""
