"""Pure manifest builders: spec in, plain Kubernetes objects (dicts) out."""
