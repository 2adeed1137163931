"""``blackroad devcluster``: starts the local Kubernetes API stand-in (development only).

The devcluster package is imported only when this command runs, so that workers, which
also start through this CLI, do not load it (it brings a CEL interpreter and more).
"""

from __future__ import annotations

import click


@click.command("devcluster")
@click.option("--port", type=int, default=None, help="Port of the API (default: a free one).")
@click.option("--state-dir", default=None, help="Where the kubeconfig and process logs go.")
@click.option("--kubelet/--no-kubelet", default=True, help="Run Deployments as local processes.")
def devcluster(port: int | None, state_dir: str | None, kubelet: bool) -> None:
    """Run a local Kubernetes API emulator and process kubelet (for tests and `make run`;
    never for production). Prints the `export KUBECONFIG=...` line; Ctrl-C stops all."""
    from devcluster.cli import main

    main(port, state_dir, kubelet)
