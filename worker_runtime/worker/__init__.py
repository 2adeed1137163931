"""The worker runtime: the claim loop, its upkeep, job execution, health and metrics."""
