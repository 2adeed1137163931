"""`make run` (`python -m devstack`): the whole system on one machine with a live view.

Prints the export lines first, so `kubectl get jq,wp,jsched -A` and `blackroad ...` work from
another terminal; stops everything it started on Ctrl-C, SIGTERM or after --duration.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.live import Live

from devstack.kube import KubeReader
from devstack.producer import DEMO_SCHEDULE, DemoProducer
from devstack.stack import DEFAULT_STATE_DIR, Stack, StackConfig, StackError
from devstack.view import View
from worker_runtime.client import SyncClient

#: Seconds between producer ticks and view refreshes; plain (non-terminal) output is rarer.
TICK = 0.5
PLAIN_EVERY = 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m devstack",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--duration",
        type=float,
        default=float(os.environ.get("BLACKROAD_RUN_DURATION", "0")),
        help="stop after this many seconds of demo (0: until Ctrl-C); env BLACKROAD_RUN_DURATION",
    )
    p.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="kubeconfig, logs and Redis files (emptied at start)",
    )
    p.add_argument("--no-producer", action="store_true", help="bring the system up, enqueue none")
    p.add_argument("--plain", action="store_true", help="print tables, not a live view")
    p.add_argument(
        "--redis-password",
        action="store_true",
        help="Redis requires a generated password; it reaches the operator and the workers "
        "only through the Redis Secret, and this terminal as a REDIS_URL_FILE (never printed)",
    )
    p.add_argument(
        "--redis-cluster",
        type=int,
        nargs="?",
        const=3,
        default=0,
        metavar="MASTERS",
        help="a Redis Cluster of MASTERS (default 3) masters on loopback instead of one server; "
        "the operator, the workers and this terminal get its redis+cluster:// URL",
    )
    return p.parse_args(argv)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.monotonic()
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=160)  # logs and tests: no 80-column wrap
    signal.signal(signal.SIGTERM, _raise_interrupt)
    password = secrets.token_urlsafe(24) if args.redis_password else None
    config = StackConfig(
        state_dir=args.state_dir,
        redis_password=password,
        dashboard=True,
        redis_cluster=args.redis_cluster,
    )
    stack = Stack(config)
    code = 0
    try:
        console.print(f"export KUBECONFIG={stack.kubeconfig}")
        if password:
            console.print(f"export REDIS_URL_FILE={stack.redis_url_file}")
        else:
            console.print(f"export REDIS_URL={stack.redis_url}")
        console.print(f"# operator metrics: {stack.operator_metrics_url}")
        console.print(f"# dashboard: {stack.dashboard_url} (token in {stack.dashboard_token_file})")
        stack.start()
        stack.wait_ready()
        console.print(
            f"# ready after {time.monotonic() - started:.1f}s; logs in "
            f"{stack.state_dir / 'logs'}, pod logs in "
            f"{stack.kubeconfig.parent / 'pods'}"
        )
        _print_worker_metrics(console, stack)
        _demo(console, stack, args, started)
    except KeyboardInterrupt:
        pass
    except StackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        code = 1
    finally:
        # A second Ctrl-C must not cut the shutdown short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        console.print("# stopping the operator, the workers, the devcluster and Redis ...")
        stack.stop()
        console.print(f"# stopped everything; logs in {stack.state_dir / 'logs'}")
    sys.exit(code)


def _print_worker_metrics(console: Console, stack: Stack) -> None:
    kube = KubeReader(stack.kubeconfig)
    try:
        for pod in kube.pods():
            if pod.metrics_port:
                console.print(
                    f"# worker {pod.namespace}/{pod.name} metrics: "
                    f"http://127.0.0.1:{pod.metrics_port}/metrics"
                )
    finally:
        kube.close()


def _demo(console: Console, stack: Stack, args: argparse.Namespace, started: float) -> None:
    client, kube = SyncClient(stack.redis_url), KubeReader(stack.kubeconfig)
    producer = None if args.no_producer else DemoProducer(client)
    if producer is not None:
        stack.kubectl("apply", "-f", "-", input=DEMO_SCHEDULE)
    view = View(client, kube)
    live = console.is_terminal and not args.plain
    demo_start = last_plain = time.monotonic()
    first_done = False
    try:
        with Live(console=console, refresh_per_second=4) if live else nullcontext() as screen:
            while not args.duration or time.monotonic() - demo_start < args.duration:
                if producer is not None:
                    producer.tick(time.monotonic() - demo_start)
                snap = view.snapshot()
                if not first_done and any(s.completed for s in snap.queues):
                    first_done = True
                    console.print(
                        f"# first job completed {time.monotonic() - started:.1f}s after start"
                    )
                if isinstance(screen, Live):
                    screen.update(view.render(snap))
                elif time.monotonic() - last_plain >= PLAIN_EVERY:
                    console.print(view.render(snap))
                    last_plain = time.monotonic()
                time.sleep(TICK)
        if not live:
            console.print(view.render(view.snapshot()))
    finally:
        client.close()
        kube.close()
