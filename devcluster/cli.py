"""The `devcluster` command: run the emulator and kubelet until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import click

from devcluster import __version__
from devcluster.cluster import Services

#: Where `make run` keeps kubeconfig, pod logs and the like (git-ignored).
DEFAULT_STATE_DIR = ".state/devcluster"


async def _serve(port: int | None, state_dir: Path, kubelet: bool, namespace: str) -> None:
    services = Services(port, state_dir, kubelet=kubelet, namespace=namespace)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await services.start()
    try:
        click.echo(
            f"# devcluster {__version__}: a local Kubernetes API stand-in for "
            "development and tests, never for production",
            err=True,
        )
        click.echo(
            f"# API {services.url}, pod logs in {state_dir / 'pods'}; Ctrl-C stops everything",
            err=True,
        )
        click.echo(f"export KUBECONFIG={services.kubeconfig.resolve()}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        click.echo("# devcluster: stopping processes and the API", err=True)
        await services.stop()


def main(
    port: int | None = None,
    state_dir: str | None = None,
    kubelet: bool = True,
    namespace: str = "default",
) -> None:
    """Start the API emulator (and kubelet) and block until SIGINT or SIGTERM."""
    asyncio.run(_serve(port, Path(state_dir or DEFAULT_STATE_DIR), kubelet, namespace))


@click.command("devcluster")
@click.option("--port", type=int, default=None, help="API port on 127.0.0.1 (default: random).")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    default=None,
    help=f"Kubeconfig and pod logs (default: {DEFAULT_STATE_DIR}).",
)
@click.option("--kubelet/--no-kubelet", default=True, help="Run Deployments as local processes.")
@click.option(
    "--namespace",
    default="default",
    show_default=True,
    help="The kubeconfig context's namespace (what kubectl uses without -n).",
)
@click.version_option(__version__, prog_name="devcluster")
def devcluster(port: int | None, state_dir: str | None, kubelet: bool, namespace: str) -> None:
    """Run a local Kubernetes API emulator and process kubelet (dev and test only).

    Prints an `export KUBECONFIG=...` line for kubectl, kopf and the kubernetes client.
    Deployments become local processes from their first container's command, args and
    env. Never use this in production: no auth, no persistence, no isolation.
    """
    main(port, state_dir, kubelet, namespace)
