"""A tiny HTTP client for the Kubernetes API built from a kubeconfig (emulator or real)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config

JSON = dict[str, Any]


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def body(self) -> Any:
        return json.loads(self.text) if self.text else None


class Kube:
    """Plain HTTP with the kubeconfig's server, CA, client cert or token."""

    def __init__(self, kubeconfig: Path) -> None:
        cfg = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)  # type: ignore[no-untyped-call]
        self.base = cfg.host.rstrip("/")
        self.headers: dict[str, str] = {}
        token = (cfg.api_key or {}).get("authorization")
        if token:
            self.headers["Authorization"] = token
        self.context: ssl.SSLContext | None = None
        if self.base.startswith("https"):
            self.context = ssl.create_default_context(cafile=cfg.ssl_ca_cert)
            if cfg.cert_file:
                self.context.load_cert_chain(cfg.cert_file, cfg.key_file)
            if not cfg.verify_ssl:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 15,
    ) -> Response:
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)
        for name, value in {**self.headers, **(headers or {})}.items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.context) as resp:
                return Response(resp.status, dict(resp.headers), resp.read().decode())
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers), err.read().decode())

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Response:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, kind: str = "merge", **kw: Any) -> Response:
        content_type = {
            "merge": "application/merge-patch+json",
            "json": "application/json-patch+json",
            "strategic": "application/strategic-merge-patch+json",
            "apply": "application/apply-patch+yaml",
        }[kind]
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("DELETE", path, body, **kw)

    def watch(
        self,
        path: str,
        params: dict[str, str],
        *,
        timeout: float = 15,
        headers: dict[str, str] | None = None,
    ) -> tuple[Response, list[JSON]]:
        """Run a watch that the server ends (timeoutSeconds) and return its events."""
        response = self.get(
            path, params={"watch": "true", **params}, timeout=timeout, headers=headers
        )
        if response.status != 200:
            return response, []
        events = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        return response, events
