"""The README's first command: ``csms demo`` comes up, shows live stations and says where to look."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serves_live_emulated_stations(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSMS_")}
    command = [
        sys.executable,
        "-m",
        "csms.cli",
        "demo",
        "--stations",
        "4",
        "--duration",
        "20",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        stations = _wait_for_connected(port, expected=4, deadline=deadline)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/v1/operator/sites/1/load", timeout=5
        ) as response:
            load = json.load(response)
        while not any("connected: 4/4" in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.1)  # the progress line follows the boots it reports
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
        if process.stdout is not None:
            process.stdout.close()
    output = "".join(lines)
    assert [s["id"] for s in stations] == ["DEMO-01", "DEMO-02", "DEMO-03", "DEMO-04"]
    assert {s["ocpp_version"] for s in stations} == {"1.6", "2.0.1"}
    assert f"http://127.0.0.1:{port}/api/v1/operator/stations" in output
    assert "connected: 4/4" in output
    assert (load["unit"], load["max_import"]) == ("A", "128")  # 16 A for each of the 8 EVSEs
    assert "/api/v1/operator/sites/1/load" in output
    assert (tmp_path / "csms.db").exists()


def _wait_for_connected(port: int, *, expected: int, deadline: float) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/operator/stations"
    stations: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                stations = json.load(response)["items"]
        except OSError:
            stations = []
        # connected is set on the upgrade, the version once the BootNotification is stored
        if sum(bool(s["connected"] and s["ocpp_version"]) for s in stations) == expected:
            return stations
        time.sleep(0.3)
    raise AssertionError(f"stations never all connected and booted: {stations}")
