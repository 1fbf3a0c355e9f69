"""What a run tells its user: checks, warnings, weights, conventions, terminal tables and charts."""
