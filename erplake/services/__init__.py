"""Role app factories and the worker entry: composition only, no rules."""
