"""ERPLake benchmarks: each scenario is measured against the raw operation it wraps,
in the same run on the same machine, and reported as a ratio."""
