"""The formula language: text to a typed sympy IR (never eval), grain, types, printers."""
