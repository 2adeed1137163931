"""``python -m worker_runtime`` runs the ``blackroad`` command line."""

from worker_runtime.cli import main

main()
