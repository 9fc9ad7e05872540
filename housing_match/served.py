"""The API under measurement (``housing-match bench`` and ``loadtest``): uvicorn in its own
process on a free loopback port.

A separate process, so the clients' event loop and the server do not share one GIL and the
figures are the server's, as a deployment would see them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

STARTUP_TIMEOUT_S = 60.0
# A measurement drives one organisation's matches far beyond what any one organisation may
# ask of a deployment: the per-organisation rate limits are off (a settings= entry wins).
WITHOUT_RATE_LIMITS = {
    f"HOUSING_MATCH_RATE_LIMIT_{operation}": "0"
    for operation in ("MATCH", "ALLOCATION", "IMPORT", "EXPORT")
}


@dataclass(frozen=True)
class Server:
    base_url: str
    log_path: Path
    process_group: int  # uvicorn and its workers

    def log_tail(self, lines: int = 200) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve(
    database_url: str, *, workers: int = 1, settings: Mapping[str, str] | None = None
) -> Iterator[Server]:
    """Starts uvicorn against ``database_url`` (with ``settings``: more environment variables);
    stops it and its worker processes on exit, and only them."""
    port = free_port()
    environment = {
        **os.environ,
        **WITHOUT_RATE_LIMITS,
        **(settings or {}),
        "HOUSING_MATCH_DATABASE_URL": database_url,
    }
    with tempfile.NamedTemporaryFile(
        "wb", prefix="housing-match-served-", suffix=".log", delete=False
    ) as log:
        log_path = Path(log.name)
        command = [
            sys.executable, "-m", "uvicorn", "housing_match.app:app",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        # In a process group of its own: uvicorn's worker processes do not watch their
        # parent, so a supervisor killed alone would leave them serving the port.
        process = subprocess.Popen(  # noqa: S603  # our own interpreter and module
            command,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(
        base_url=f"http://127.0.0.1:{port}", log_path=log_path, process_group=process.pid
    )
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        _stop(process)
        log_path.unlink(missing_ok=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to uvicorn's whole group (a graceful shutdown of every worker), then SIGKILL
    to whatever is left of it."""
    group = process.pid  # the group's id: the process leads its own session
    try:
        os.killpg(group, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=5)


def _wait_healthy(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"uvicorn did not become healthy in {STARTUP_TIMEOUT_S:.0f} s")
