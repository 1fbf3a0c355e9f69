"""JavaScript printing of the formula IR, for pages that recompute an index live."""
