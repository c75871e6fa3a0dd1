"""Starting and stopping what a run measures: the bench database and one server process each.

Every server gets its own process group, so stopping it also stops anything it started, and a
Ctrl-C in the terminal reaches only the orchestrator, which then cleans up in order.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]

from bench import proc
from bench.stats import Figures

LOOPBACK = ("127.0.0.1", "localhost")
# ``python -m bench.*`` children must find the package whatever directory the run started in.
ROOT = Path(__file__).resolve().parents[1]
SERVERS = ("csms", "reference", "ceiling")


class LaunchError(Exception):
    """A server or the database could not be brought up; the message says which and why."""


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def csms_command(*args: str) -> list[str]:
    """The ``csms`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("csms")
    if not script.exists():
        raise LaunchError(f"no csms command beside {sys.executable}; run: pip install -e '.[dev]'")
    return [str(script), *args]


def csms_env(database_url: str, port: int | None = None) -> dict[str, str]:
    env = os.environ | {"CSMS_PORT": str(port)} if port else dict(os.environ)
    return env | {
        "CSMS_DATABASE_URL": database_url,
        "CSMS_HOST": "127.0.0.1",
        "CSMS_UNKNOWN_STATIONS": "accept",
        "CSMS_HEARTBEAT_INTERVAL": "300",
        "CSMS_LOG_LEVEL": "WARNING",
    }


def start_server(name: str, database_url: str, cpu: int | None, workdir: Path) -> Server:
    port = free_port()
    if name == "csms":
        command, env = csms_command("run"), csms_env(database_url, port)
    else:
        command, env = [sys.executable, "-m", "bench.servers", name, "--port", str(port)], dict(os.environ)
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    proc.pin_to_cpu(process.pid, cpu)
    server = Server(name, port, process, log_path)
    try:
        _wait_listening(server, limit=60)
    except BaseException:
        stop(server.process)
        raise
    return server


def _wait_listening(server: Server, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise LaunchError(f"{server.name} server exited at start:\n{server.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise LaunchError(f"{server.name} server not listening after {limit:g} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen[bytes], limit: float = 10) -> None:
    """SIGTERM to the process group (a graceful shutdown), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for signum, wait in ((signal.SIGTERM, limit), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_child(args: list[str], *, cpu: int | None, limit: float, stop_limit: float, failure: str) -> Figures:
    """Run ``python -m <args>`` pinned to ``cpu``, stopped after ``limit`` seconds, and return the
    JSON figures of its last line of output; ``failure`` names it in the error if it fails."""
    process = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    proc.pin_to_cpu(process.pid, cpu)
    try:
        out, _ = process.communicate(timeout=limit)
    finally:
        stop(process, limit=stop_limit)
    if process.returncode != 0:
        raise LaunchError(f"{failure} (exit {process.returncode})")
    result: Figures = json.loads(out.decode().strip().splitlines()[-1])
    return result


def check_loopback(dsn: str) -> None:
    """The benchmark only ever talks to this machine."""
    if urlsplit(dsn).hostname not in LOOPBACK:
        raise LaunchError(f"refusing a non-local PostgreSQL server in {dsn!r}")


def database_url(kind: str, admin_dsn: str, name: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / (name + '.db')}"
    return admin_dsn.rsplit("/", 1)[0] + f"/{name}"


def create_database(kind: str, admin_dsn: str, name: str, workdir: Path) -> str:
    """A fresh, migrated database; a leftover of an interrupted run is dropped first."""
    url = database_url(kind, admin_dsn, name, workdir)
    if kind == "postgres":
        check_loopback(admin_dsn)
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    done = subprocess.run(
        csms_command("migrate"), env=csms_env(url), capture_output=True, timeout=300, check=False
    )
    if done.returncode != 0:
        raise LaunchError(f"csms migrate failed:\n{done.stderr.decode(errors='replace')[-2000:]}")
    return url


def drop_database(kind: str, admin_dsn: str, name: str) -> None:
    if kind == "postgres":
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="ocpp-load-"))
