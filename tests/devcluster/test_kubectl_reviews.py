"""kubectl's read habits beyond get: `auth can-i`/`whoami` and the columns of `get events`."""

from __future__ import annotations

from tests.devcluster.conftest import KubectlFn, to_yaml


def test_auth_can_i_is_answered_yes(kubectl: KubectlFn) -> None:
    allowed = kubectl("auth", "can-i", "create", "deployments")
    assert allowed.stdout.strip() == "yes"
    listing = kubectl("auth", "can-i", "--list").stdout
    assert "*.*" in listing
    assert "Username" in kubectl("auth", "whoami").stdout


def test_get_events_shows_the_real_columns(kubectl: KubectlFn, namespace: str) -> None:
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "worker.1"},
        "involvedObject": {"kind": "Pod", "name": "worker", "namespace": namespace},
        "reason": "Started",
        "message": "Started container main",
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "count": 3,
    }
    kubectl("create", "-f", "-", input=to_yaml(event))
    lines = kubectl("get", "events").stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert lines[1].split()[1:] == [
        "Normal",
        "Started",
        "pod/worker",
        "Started",
        "container",
        "main",
    ]
    wide = kubectl("get", "events", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["SEEN", "COUNT", "NAME"]
    assert "kubelet, node-1" in wide[1] and wide[1].split()[-2:] == ["3", "worker.1"]
