"""Demo data: a realistic, deterministic organisation to sign in to and to benchmark with."""
