"""The e2e scenarios on a real kind cluster (marker `kind`; skipped where Docker is down)."""
