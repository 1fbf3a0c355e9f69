"""The self-contained HTML report: page data, formulas as MathML, the live program."""
