"""Peer runtime: processes stop completely, readiness failures explain themselves, venvs cache."""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.peers import runtime
from tests.peers.runtime import PeerError, PeerProcess, alive, free_port, peer_venv

# A child that ignores SIGTERM and starts a grandchild that ignores it too; the grandchild may
# also leave the process group and session (as Dagster's workers do), so only the tree finds it.
CHILD = r"""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
grandchild = subprocess.Popen([sys.executable, "-c", GRANDCHILD])
open(sys.argv[1] + ".tmp", "w").write(str(grandchild.pid))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""
GRANDCHILD_SAME_GROUP = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
)
GRANDCHILD_OWN_SESSION = (
    "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "time.sleep(600)"
)


def _start_family(tmp_path: Path, grandchild: str) -> tuple[PeerProcess, int]:
    pid_file = tmp_path / "grandchild.pid"
    script = f"GRANDCHILD = {grandchild!r}\n{CHILD}"
    peer = PeerProcess(
        "family", [sys.executable, "-c", script, str(pid_file)], stop_grace=1.0
    ).start()
    deadline = time.monotonic() + 10
    while not pid_file.exists():
        assert time.monotonic() < deadline, peer.log_tail()
        time.sleep(0.05)
    time.sleep(0.2)  # let the grandchild install its SIGTERM handler / setsid
    return peer, int(pid_file.read_text())


@pytest.mark.parametrize(
    "grandchild", [GRANDCHILD_SAME_GROUP, GRANDCHILD_OWN_SESSION], ids=["same-group", "own-session"]
)
def test_stop_kills_child_and_grandchild_that_ignore_sigterm(tmp_path: Path, grandchild: str):
    peer, grandchild_pid = _start_family(tmp_path, grandchild)
    child_pid = peer.pid
    assert alive(child_pid) and alive(grandchild_pid)

    peer.stop()

    assert not alive(child_pid)
    assert not alive(grandchild_pid)
    assert peer.proc is not None and peer.proc.returncode == -signal.SIGKILL  # after the grace


def test_stop_is_quick_when_the_process_honours_sigterm():
    peer = PeerProcess("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"]).start()
    peer.stop()
    assert not alive(peer.pid)
    assert peer.proc is not None and peer.proc.returncode == -signal.SIGTERM  # never SIGKILLed


def test_wait_ready_reports_early_exit_with_log_tail():
    script = "import sys; print('config file is broken: line 3', flush=True); sys.exit(3)"
    peer = PeerProcess("broken", [sys.executable, "-c", script], health_url="http://127.0.0.1:9/")
    with pytest.raises(PeerError) as info:
        with peer:
            pass
    message = str(info.value)
    assert "exited with code 3" in message
    assert "config file is broken: line 3" in message


def test_wait_ready_times_out_naming_the_url_and_showing_the_log():
    port = free_port()
    script = "import time; print('still warming up', flush=True); time.sleep(600)"
    peer = PeerProcess(
        "slowpoke",
        [sys.executable, "-c", script],
        health_url=f"http://127.0.0.1:{port}/health",
        ready_timeout=1.0,
    )
    with pytest.raises(PeerError) as info:
        with peer:
            pass
    assert "not ready" in str(info.value) and "after 1s" in str(info.value)
    assert f"127.0.0.1:{port}/health" in str(info.value)
    assert "still warming up" in str(info.value)
    assert not alive(peer.pid)


def test_context_manager_waits_until_health_answers(tmp_path: Path):
    port = free_port()
    peer = PeerProcess(
        "http",
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        health_url=f"http://127.0.0.1:{port}/",
        ready_timeout=20,
    )
    with peer:
        assert peer.ready_seconds is not None
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    assert not alive(peer.pid)


def test_free_port_can_be_bound():
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.fixture
def fake_installs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Point the cache at tmp_path and record installs instead of downloading packages."""
    monkeypatch.setenv("SWITCHBOARD_PEERS_DIR", str(tmp_path / "peers"))
    calls: list[Path] = []

    def install(venv: Path, requirements: list[str]) -> str:
        calls.append(venv)
        time.sleep(0.3)  # long enough for a concurrent caller to contend for the lock
        return "\n".join(requirements)

    monkeypatch.setattr(runtime, "_install", install)
    return calls


def test_peer_venv_is_installed_once_and_reused(fake_installs: list[Path]):
    first = peer_venv("demo", ["demo-pkg==1.0"])
    second = peer_venv("demo", ["demo-pkg==1.0"])
    assert first == second
    assert len(fake_installs) == 1
    assert (first / "bin" / "python").exists()
    assert runtime.installed_info(first)["requirements"] == ["demo-pkg==1.0"]


def test_different_requirements_get_different_venvs(fake_installs: list[Path]):
    assert peer_venv("demo", ["demo-pkg==1.0"]) != peer_venv("demo", ["demo-pkg==2.0"])
    assert len(fake_installs) == 2


def test_concurrent_callers_install_once(fake_installs: list[Path]):
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(peer_venv("demo", ["x==1"])))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results) == 3
    assert len(fake_installs) == 1


def test_failed_install_leaves_no_marker_and_is_redone(
    fake_installs: list[Path], monkeypatch: pytest.MonkeyPatch
):
    real_fake = runtime._install

    def broken(venv: Path, requirements: list[str]) -> str:
        raise PeerError("network went away")

    monkeypatch.setattr(runtime, "_install", broken)
    with pytest.raises(PeerError, match="network went away"):
        peer_venv("demo", ["x==1"])
    monkeypatch.setattr(runtime, "_install", real_fake)

    venv = peer_venv("demo", ["x==1"])
    assert runtime.installed_info(venv) is not None
    assert len(fake_installs) == 1


def test_half_made_venv_without_marker_is_rebuilt(fake_installs: list[Path]):
    venv = runtime.peers_dir() / f"demo-{runtime.venv_key(['x==1'])}"
    (venv / "bin").mkdir(parents=True)
    (venv / "leftover").write_text("from a killed install")
    peer_venv("demo", ["x==1"])
    assert not (venv / "leftover").exists()
    assert len(fake_installs) == 1
