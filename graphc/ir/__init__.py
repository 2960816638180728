"""The IR: op registry, op declarations, symbolic rules."""
