"""The methodology file: strict YAML with positions, bases merged (``extends:``), the JSON
Schema check, semantic rules, and the frozen model; ``indexlab init``'s first methodology."""
