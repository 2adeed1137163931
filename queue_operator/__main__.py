"""`python -m queue_operator`: runs the operator with peering, a liveness probe and metrics.

Peering (leader election) follows kopf's: with ``--peering NAME`` every replica announces
itself in the KopfPeering object NAME of its namespace (ClusterKopfPeering with
``--all-namespaces``) and all but the highest-priority replica pause; ``--standalone``
turns peering off (one replica only!). Without either, kopf uses the peering object
"default" when the kopf.dev CRDs are installed and runs standalone otherwise. kopf pauses
*both* replicas when two have the same priority, so the default priority is derived from
the start time: the oldest replica leads and a newer one takes over when it is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

try:
    import kopf
    from prometheus_client import start_http_server

    from queue_operator.main import Operator, OperatorConfig
except ModuleNotFoundError as exc:
    # A third-party module missing (not one of ours): the `operator` extra is not installed.
    if (exc.name or "queue_operator.").startswith("queue_operator."):
        raise
    sys.exit(
        f"error: python -m queue_operator needs the operator extra ({exc.name} is missing); "
        "run: pip install 'blackroad-queues[operator]'"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m queue_operator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scope = p.add_mutually_exclusive_group()
    scope.add_argument(
        "-n",
        "--namespace",
        action="append",
        default=[],
        help="watch this namespace (repeat for more; glob patterns allowed)",
    )
    scope.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        help="watch every namespace (the default when no --namespace is given)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--peering", metavar="NAME", help="KopfPeering object to elect a leader in")
    mode.add_argument("--standalone", action="store_true", help="no peering: single replica")
    p.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority (default: older replicas first, from the start time)",
    )
    p.add_argument(
        "--peering-lifetime",
        type=int,
        default=60,
        help="seconds after which a silent peer is considered gone",
    )
    p.add_argument(
        "--liveness",
        default="http://0.0.0.0:8080/healthz",
        help="liveness endpoint URL served by kopf ('' turns it off)",
    )
    p.add_argument("--metrics-port", type=int, default=9090, help="Prometheus /metrics (0: off)")
    p.add_argument("--tick", type=float, default=1.0, help="seconds between reconcile ticks")
    p.add_argument(
        "--status-interval",
        type=float,
        default=5.0,
        help="seconds between JobQueue status refreshes",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log each handler run")
    return p.parse_args(argv)


def default_priority() -> int:
    # Older replicas get higher priority; milliseconds make equal priorities (both pause) rare.
    return -int(time.time() * 1000)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    kopf.configure(verbose=args.verbose)
    op = Operator(OperatorConfig(tick=args.tick, status_interval=args.status_interval))
    if args.metrics_port:
        start_http_server(args.metrics_port, registry=op.metrics.registry)
    settings = kopf.OperatorSettings()
    settings.peering.lifetime = args.peering_lifetime
    settings.posting.level = logging.WARNING
    asyncio.run(
        kopf.operator(
            registry=op.registry,
            settings=settings,
            standalone=True if args.standalone else None,
            peering_name=args.peering,
            priority=args.priority if args.priority is not None else default_priority(),
            liveness_endpoint=args.liveness or None,
            namespaces=args.namespace,
            clusterwide=args.all_namespaces or not args.namespace,
        )
    )


if __name__ == "__main__":
    main()
