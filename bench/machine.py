"""A description of the machine the benchmark ran on: CPU, cores, memory, OS, runtimes."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path


def _first(path: str, key: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def _version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None:
        return "not installed"
    proc = subprocess.run(argv, capture_output=True, text=True)
    return (proc.stdout or proc.stderr).strip().splitlines()[0]


def describe(redis_version: str) -> dict[str, str | int | float]:
    mem_kb = int(_first("/proc/meminfo", "MemTotal").split()[0])
    distro = _first("/etc/os-release", "PRETTY_NAME=").strip('"')
    return {
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count() or 0,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "os": f"{distro}, Linux {platform.release()}",
        "python": platform.python_version(),
        "node": _version(["node", "--version"]),
        "redis": redis_version,
    }
