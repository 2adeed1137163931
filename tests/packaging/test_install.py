"""`pip install blackroad-queues` without extras: the client, worker and CLI work alone.

One fresh virtualenv per session gets the package from a copy of the source tree, with its
real dependencies from pip's index. Slow-ish (about a minute, mostly pip), so marked slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import in_ci

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
#: What `pip install .` from a clone reads: the project file, its readme, the packages.
SOURCES = (
    "pyproject.toml",
    "README.md",
    "worker_runtime",
    "queue_operator",
    "devcluster",
    "devstack",
    "dashboard",
)
#: Top-level modules of the extras' dependencies (celpy is cel-python's).
EXTRA_MODULES = ("kopf", "kubernetes", "aiohttp", "jsonpatch", "celpy", "jinja2")


@dataclass(frozen=True)
class Venv:
    root: Path
    #: Where commands run: outside the source tree, so only the installed copy is imported.
    cwd: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def blackroad(self) -> Path:
        return self.root / "bin" / "blackroad"

    def run(self, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(a) for a in args],
            cwd=self.cwd,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def clean_env() -> dict[str, str]:
    # The test's own virtualenv and source tree must not leak into the fresh one.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def copy_sources(dest: Path) -> Path:
    # A copy, so that the build writes no build/ or egg-info into the working tree.
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    dest.mkdir()
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    return dest


def cannot_run(reason: str) -> None:
    # CI must prove the client install works; a developer offline may go on without it.
    if in_ci():
        pytest.fail(f"the install test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    base = tmp_path_factory.mktemp("client-install")
    source = copy_sources(base / "src")
    made = Venv(base / "venv", base)
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(made.root)], capture_output=True, text=True, check=False
    )
    if created.returncode != 0:
        cannot_run(f"python -m venv failed: {created.stderr.strip()[-2000:]}")
    installed = made.run(made.python, "-m", "pip", "install", "--quiet", source, timeout=600)
    if installed.returncode != 0:
        cannot_run(f"pip install (no extras) failed: {installed.stderr.strip()[-2000:]}")
    yield made
    shutil.rmtree(base, ignore_errors=True)


def test_no_extra_dependency_is_installed(venv: Venv) -> None:
    probe = (
        "import importlib.util, json, sys; "
        "print(json.dumps({m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}))"
    )
    done = venv.run(venv.python, "-c", probe, *EXTRA_MODULES, "worker_runtime")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found.pop("worker_runtime") is True
    assert found == dict.fromkeys(EXTRA_MODULES, False)


def test_cli_enqueues_and_a_burst_worker_completes_the_job(venv: Venv, redis_url: str) -> None:
    url = ("--redis-url", redis_url)
    assert venv.run(venv.blackroad, "--help").returncode == 0

    enqueued = venv.run(
        venv.blackroad, *url, "job", "enqueue", "emails", "noop", "--payload", "{}", "-o", "json"
    )
    assert enqueued.returncode == 0, enqueued.stderr
    job_id = json.loads(enqueued.stdout)["id"]

    worker = venv.run(
        venv.blackroad,
        *url,
        "worker",
        "start",
        "--queues",
        "emails",
        "--burst",
        "--handlers",
        "worker_runtime.examples",
        "--metrics-port",
        "0",
    )
    assert worker.returncode == 0, worker.stderr
    # uvloop comes with the client-and-worker install, and the worker runs on it.
    assert ",noop on uvloop" in worker.stderr  # the start-up line: handlers ... on LOOP

    info = venv.run(venv.blackroad, *url, "job", "info", job_id, "-o", "json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["state"] == "completed"


def test_devcluster_command_names_the_extra(venv: Venv) -> None:
    done = venv.run(venv.blackroad, "devcluster")
    assert done.returncode != 0
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert "pip install 'blackroad-queues[devcluster]'" in line


def test_operator_names_the_extra(venv: Venv) -> None:
    done = venv.run(venv.python, "-m", "queue_operator", "--help")
    assert done.returncode != 0
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert "pip install 'blackroad-queues[operator]'" in line


def test_worker_scale_names_the_extra(venv: Venv) -> None:
    done = venv.run(venv.blackroad, "worker", "scale", "emails", "2")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("error: worker scale needs the operator extra")
    assert "pip install 'blackroad-queues[operator]'" in line


def test_dashboard_names_the_extra(venv: Venv) -> None:
    done = venv.run(venv.blackroad, "dashboard", "--port", "0")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("error: blackroad dashboard needs the dashboard extra")
    assert "pip install 'blackroad-queues[dashboard]'" in line
