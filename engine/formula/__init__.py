"""The formula language: parser (text to sympy, never eval), grain and types, the IR, and the printer back to text."""
