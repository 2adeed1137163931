"""Writes bench/RESULTS.md from the results dictionary that bench/results.json also holds."""

from __future__ import annotations

from typing import Any

from bench.autoscale import SAMPLE_S
from bench.summary import METRICS, Metric, best_peer

COLUMNS = (
    ("enqueue_single", "enqueue_single /s"),
    ("enqueue_bulk", "enqueue_bulk /s"),
    ("drain_default", "drain /s (default conc.)"),
    ("drain_c50", "drain /s (conc. 50)"),
    ("latency_p50", "latency p50 ms"),
    ("latency_p99", "latency p99 ms"),
    ("cmds_enqueue", "cmds/job enqueue"),
    ("cmds_worker", "cmds/job worker"),
    ("cmds_at_rate", "cmds/job at 100/s"),
    ("cpu_backlog", "Redis CPU µs/job at backlog"),
    ("cpu_at_rate", "Redis CPU µs/job at 100/s"),
    ("rss_main", "worker RSS MB"),
    ("rss_tree", "RSS MB with children"),
)
BY_KEY = {m.key: m for m in METRICS}


def _num(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v) < 10 else f"{v:.1f}"


def cell(value: Any) -> str:
    if isinstance(value, dict):
        if value["n"] == 1 or value["min"] == value["max"]:
            return _num(value["median"])
        return f"{_num(value['median'])} ({_num(value['min'])}-{_num(value['max'])})"
    if value is None:
        return ""
    text = str(value)
    return text if len(text) < 40 else text[:37] + "..."


def _main_table(res: dict[str, Any]) -> list[str]:
    head = "| system | version | default concurrency | " + " | ".join(t for _, t in COLUMNS)
    lines = [head + " |", "|" + "---|" * (len(COLUMNS) + 3)]
    for data in res["systems"].values():
        s = data["system"]
        version = ", ".join(f"{k} {v}" for k, v in data.get("versions", {}).items())
        if "unavailable" in data:
            lines.append(
                f"| {s['name']} | unavailable: {data['unavailable']} |" + " |" * (len(COLUMNS) + 1)
            )
            continue
        cells = [cell(data["summary"].get(k)) for k, _ in COLUMNS]
        lines.append(
            f"| {s['name']} | {version} | {s['default_concurrency']} | " + " | ".join(cells) + " |"
        )
    return lines


TARGETS: dict[str, tuple[str, float | None, float | None]] = {
    # metric: (target in words, factor of the best peer, absolute bound); issue 17's targets
    "enqueue_single": ("at least the best peer", 1.0, None),
    "enqueue_bulk": ("at least 4x the best peer (BullMQ)", 4.0, None),
    "drain_default": ("at least 4x the best peer", 4.0, None),
    "drain_c50": ("at least 3x the best peer", 3.0, None),
    "latency_p99": ("at most the best peer's", 1.0, None),
    "cmds_at_rate": ("at most 12", None, 12),
    "cpu_backlog": ("the lowest of all systems", 1.0, None),
    "cpu_at_rate": ("at most 1.5x the lowest", 1.5, None),
    "rss_main": ("at most 45 MB", None, 45),
}


def _met(m: Metric, ours: float, best: float | None) -> str:
    if m.key not in TARGETS:
        return ""
    _, factor, bound = TARGETS[m.key]
    ok = True
    if factor is not None and best is not None:
        ok = ours >= factor * best if m.higher_is_better else ours <= factor * best
    if bound is not None:
        ok = ok and (ours >= bound if m.higher_is_better else ours <= bound)
    return "yes" if ok else "no"


def _ratio_table(res: dict[str, Any]) -> list[str]:
    lines = [
        "| metric | ours | best peer | ours ÷ best peer | target | met |",
        "|---|---|---|---|---|---|",
    ]
    ours = res["systems"].get("ours", {}).get("summary", {})
    for m in METRICS:
        mine = ours.get(m.key)
        best = best_peer(res["systems"], m)
        if not isinstance(mine, dict) or best is None:
            continue
        name = res["systems"][best[0]]["system"]["name"]
        ratio = mine["median"] / best[1] if best[1] else float("inf")
        target = TARGETS.get(m.key, ("", None, None))[0]
        lines.append(
            f"| {m.title} | {_num(mine['median'])} | {_num(best[1])} ({name}) | "
            f"{ratio:.2f}x ({'higher' if m.higher_is_better else 'lower'} is better) | "
            f"{target} | {_met(m, mine['median'], best[1])} |"
        )
    return lines


def _scale(res: dict[str, Any]) -> list[str]:
    sc = res.get("scale", {})
    lines = ["## Our engine at scale", ""]
    p = sc.get("pending")
    if isinstance(p, dict) and "error" not in p:
        n = p["jobs"]
        a, b = p["claim_at_1000"], p[f"claim_at_{n}"]
        lines += [
            f"- {n:,} pending jobs: {p['bytes_per_job']} bytes of Redis memory per job "
            f"(payload {p['payload_bytes']} bytes; target: at most 300 plus payload); "
            f"bulk-enqueued at {p['enqueue_bulk_per_s']:,}/s.",
            f"- single-job claim (writes.claim + store.run, {a['calls']:,} calls): "
            f"at 1,000 pending p50 {a['p50_us']} µs / p99 {a['p99_us']} µs; "
            f"at {n:,} pending p50 {b['p50_us']} µs / p99 {b['p99_us']} µs "
            f"(ratio of p50s {b['p50_us'] / a['p50_us']:.2f}).",
        ]
    elif p is not None:
        lines.append(f"- pending: {p}")
    f = sc.get("in_flight")
    if isinstance(f, dict) and "error" not in f:
        lines.append(
            f"- {f['jobs']:,} jobs in flight across {f['worker_processes']} worker processes "
            f"(all running after {f['seconds_until_all_running']} s): over {f['window_s']} s, "
            f"{f['commands_per_s']:,} Redis commands/s ({f['script_calls_per_s']} script calls/s), "
            f"Redis CPU {f['redis_cpu_percent']}% of one core; worker RSS {f['worker_rss_mb']} MB."
        )
    elif f is not None:
        lines.append(f"- in flight: {f}")
    a2 = sc.get("autoscaler")
    if isinstance(a2, dict) and "summary" in a2:
        lines += _autoscaler(a2)
    elif a2 is not None:
        lines.append(f"- autoscaler reaction in the `make run` stack: {a2}")
    return lines


def _autoscaler(a: dict[str, Any]) -> list[str]:
    s, sm = a["settings"], a["summary"]
    first = a["runs"][0]

    def span(key: str) -> str:
        v = sm[key]
        if v["min"] == v["max"]:
            return f"{_num(v['median'])} s"
        return f"{_num(v['median'])} s ({_num(v['min'])}-{_num(v['max'])})"

    return [
        f"- autoscaler reaction in the `make run` stack (devstack: Redis, the devcluster API and "
        f"process kubelet, the operator; measured {a.get('date', '')}, {a['rounds']} bursts, "
        "median with min-max): a burst of "
        f"{s['jobs']:,} `{s['handler']}` jobs ({s['handler_ms']} ms each) enqueued in one bulk "
        f"call onto an idle pool at minReplicas {s['min_replicas']}; the Deployment's "
        f"spec.replicas changed after {span('a_replicas_changed_s')} (to "
        f"{first['replicas_after_first_change']} in one step), readyReplicas reached it after "
        f"{span('b_ready_at_new_count_s')}, the backlog (pending + running + delayed) was "
        f"drained after {span('c_backlog_drained_s')} ({_num(sm['drain_jobs_per_s']['median'])} "
        f"jobs/s), and the pool was back at {s['min_replicas']} replica (spec and ready) after "
        f"{span('d_back_at_min_s')}.",
        f"  - settings: WorkerPool concurrency {s['concurrency']}, minReplicas "
        f"{s['min_replicas']}, maxReplicas {s['max_replicas']}, targetBacklogPerReplica "
        f"{s['target_backlog_per_replica']} (the example pool's), pollSeconds "
        f"{s['poll_seconds']} (example: 15), scaleUpStabilizationSeconds "
        f"{s['scale_up_stabilization_s']}, scaleDownStabilizationSeconds "
        f"{s['scale_down_stabilization_s']} (example: 300); operator tick "
        f"{_num(s['operator_tick_s'])} s and status interval {_num(s['status_interval_s'])} s "
        "(`make run`'s). With the example's pollSeconds 15, (a) grows by up to 15 s and (d) "
        "takes the 300 s window plus a poll.",
        f"  - one worker at concurrency {s['concurrency']} with {s['handler_ms']} ms jobs tops "
        f"out at {_num(s['concurrency'] * 1000 / s['handler_ms'])} jobs/s; "
        + (
            "here readyReplicas reached the new count within 0.3 s of the backlog emptying, so "
            "a burst this size drains in about the time the new worker processes take to start "
            "(Python start-up on cores shared with the running worker) and the extra replicas "
            "add little to the drain. "
            if abs(sm["b_ready_at_new_count_s"]["median"] - sm["c_backlog_drained_s"]["median"])
            < 0.3
            else ""
        )
        + f"Dead jobs after the last burst: {a['runs'][-1]['dead']}.",
        "  - clock: from just before the enqueue_many call; the Deployment (kubernetes client) "
        f"and the queue's stats are sampled every {int(1000 * SAMPLE_S)} ms. The bursts run one "
        "after another in one stack, each after the pool has sat idle at its minimum for three "
        "polls. `python -m bench.run --only-autoscale` reruns this alone and merges it here.",
    ]


def _noise(res: dict[str, Any]) -> list[str]:
    """What the run shared its machine with, and Redis's own idle CPU as measured before it."""
    lines = []
    if res.get("shared_machine"):
        lines.append(f"**Noise:** {res['shared_machine']}")
    idle = res.get("redis_idle_cpu_us_per_s")
    if idle is not None:
        lines.append(
            f"Redis's idle CPU before the run (its cron, no client working): {_num(idle)} µs "
            "per second, in every CPU figure in proportion to the run's length (at 100 jobs/s "
            f"about {_num(idle / 100)} µs per job)."
        )
    return [*lines, ""] if lines else []


def render(res: dict[str, Any]) -> str:
    m = res["machine"]
    out = [
        "# Benchmarks: BlackRoad Queues against its peers",
        "",
        f"Run {res['date']} with `{res['command']}` ({res['rounds']} round(s), systems alternating "
        f"between rounds; medians with min-max in brackets). {res['mode_note']}",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; {m['os']}; "
        f"Python {m['python']}, Node {m['node']}, Redis {m['redis']} on 127.0.0.1 "
        "(one server per run, persistence off, FLUSHALL between systems).",
        "",
        *_noise(res),
        *_main_table(res),
        "",
        "## Ours against the best peer",
        "",
        *_ratio_table(res),
        "",
        *_scale(res),
        "",
        "Where our worker's time goes at backlog (py-spy, Redis commandstats per command): "
        "docs/performance.md, from `python -m bench.profile` (bench/profile.json).",
        "",
        "## How each figure is measured",
        "",
        *[f"- {line}" for line in res["method"]],
        "",
        "## Per-system notes",
        "",
        *[
            f"- {d['system']['name']}: {d['system']['notes']}"
            for d in res["systems"].values()
            if d["system"]["notes"]
        ],
        "",
    ]
    return "\n".join(out)
