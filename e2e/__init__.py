"""Whole-system tests: the local stack (devcluster) in CI, a kind cluster where Docker runs."""
