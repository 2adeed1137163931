"""Installs each peer into its own virtualenv (or node_modules) under a cache folder outside
the repository, once; later runs reuse it while the pinned requirements stay the same."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Where the peers' environments live; override with BLACKROAD_BENCH_CACHE.
CACHE = Path(os.environ.get("BLACKROAD_BENCH_CACHE", Path.home() / ".cache" / "blackroad-bench"))


@dataclass(frozen=True)
class Env:
    """One installed environment: ``python`` for a virtualenv, ``node_dir`` for npm."""

    name: str
    python: Path | None = None
    node_dir: Path | None = None


class InstallError(RuntimeError):
    """A peer's environment could not be created or its packages installed."""


def _run(args: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise InstallError(f"{' '.join(args[:3])}... failed: {' | '.join(tail)}")


def python_env(name: str, requirements: list[str]) -> Env:
    """A virtualenv with ``requirements`` (pip specifiers, pinned), made on first use."""
    root = CACHE / "venvs" / name
    python = root / "bin" / "python"
    stamp = root / ".bench-installed"
    wanted = json.dumps(sorted(requirements))
    if stamp.exists() and stamp.read_text() == wanted and python.exists():
        return Env(name, python=python)
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(root)])
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ]
    )
    stamp.write_text(wanted)
    return Env(name, python=python)


def node_env(name: str, packages: list[str]) -> Env:
    """A folder with ``node_modules`` holding ``packages`` (npm specifiers), made on first use."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise InstallError("node or npm is not installed")
    root = CACHE / "node" / name
    stamp = root / ".bench-installed"
    wanted = json.dumps(sorted(packages))
    if stamp.exists() and stamp.read_text() == wanted and (root / "node_modules").exists():
        return Env(name, node_dir=root)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text('{"name": "bench-peer", "private": true}\n')
    _run(["npm", "install", "--no-audit", "--no-fund", "--silent", *packages], cwd=root)
    stamp.write_text(wanted)
    return Env(name, node_dir=root)


def installed_versions(env: Env, distributions: list[str]) -> dict[str, str]:
    """The installed version of each named distribution (Python) or package (npm)."""
    out: dict[str, str] = {}
    if env.python is not None:
        code = (
            "import json, sys\nfrom importlib.metadata import version\n"
            "print(json.dumps({d: version(d) for d in sys.argv[1:]}))"
        )
        proc = subprocess.run(
            [str(env.python), "-c", code, *distributions],
            capture_output=True,
            text=True,
            check=True,
        )
        out.update(json.loads(proc.stdout))
    if env.node_dir is not None:
        for pkg in distributions:
            meta = env.node_dir / "node_modules" / pkg / "package.json"
            out[pkg] = json.loads(meta.read_text())["version"]
    return out
