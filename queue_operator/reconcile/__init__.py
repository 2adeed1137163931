"""Pure reconcile functions: (spec, observed, now) -> plan of writes, status, events, requeue."""
