"""Working with results: compare, diff, sensitivity, derivatives, explain."""
