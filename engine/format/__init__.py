"""The methodology file: strict YAML with positions, the JSON Schema check, semantic rules, and the frozen model."""
