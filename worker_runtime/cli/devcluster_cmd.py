"""``blackroad devcluster``: starts the local Kubernetes API stand-in (development only).

The devcluster package is imported only when this command runs, so that workers, which
also start through this CLI, do not load it (it brings a CEL interpreter and more), and so
that the CLI works without the ``devcluster`` extra installed.
"""

from __future__ import annotations

import click

from worker_runtime.cli.context import CliError

INSTALL_HINT = "pip install 'blackroad-queues[devcluster]'"


@click.command("devcluster")
@click.option("--port", type=int, default=None, help="Port of the API (default: a free one).")
@click.option("--state-dir", default=None, help="Where the kubeconfig and process logs go.")
@click.option("--kubelet/--no-kubelet", default=True, help="Run Deployments as local processes.")
def devcluster(port: int | None, state_dir: str | None, kubelet: bool) -> None:
    """Run a local Kubernetes API emulator and process kubelet (for tests and `make run`;
    never for production). Prints the `export KUBECONFIG=...` line; Ctrl-C stops all."""
    try:
        from devcluster.cli import main
    except ModuleNotFoundError as exc:
        if not missing_dependency(exc):
            raise
        raise CliError(
            f"blackroad devcluster needs the devcluster extra ({exc.name} is missing); "
            f"run: {INSTALL_HINT}"
        ) from exc
    main(port, state_dir, kubelet)


def missing_dependency(exc: ModuleNotFoundError) -> bool:
    """A third-party module (or devcluster itself) is absent: the extra is not installed.

    A missing module inside devcluster is a bug, not a missing extra, and stays an error.
    """
    name = exc.name or ""
    return name == "devcluster" or not name.startswith("devcluster.")
