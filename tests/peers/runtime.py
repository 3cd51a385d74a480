"""Run real peer servers for tests: cached per-peer venvs, free ports, and processes we fully stop.

Each peer (MLflow, Prefect, Dagster, Airflow) gets its own venv so its pins never constrain ours.
Venvs live under $SWITCHBOARD_PEERS_DIR (default ~/.cache/switchboard/peers), keyed by a hash of
the requirements, and are shared between sessions: a file lock serialises installs and a marker
file, written only after a successful install, makes an interrupted install start over.

    python -m tests.peers.runtime --warm mlflow prefect dagster airflow
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, NoReturn, TypeVar

import httpx

# Peer name -> requirements installed into its venv. Other peer modules extend this registry.
PEER_REQUIREMENTS: dict[str, list[str]] = {
    "mlflow": ["mlflow==3.17.2"],
    # Newer fastapi crashes the Prefect server (PEERS.md).
    "prefect": ["prefect==3.8.8", "fastapi==0.153.0"],
    "dagster": ["dagster==1.13.27", "dagster-webserver==1.13.27"],
    "airflow": ["apache-airflow==3.3.2"],
}

PYTHON_VERSION = "3.11"
MARKER = ".switchboard-installed.json"
INSTALL_TIMEOUT = 900.0
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


class PeerError(RuntimeError):
    """A peer could not be installed, started or made ready; the message says why."""


def unavailable(reason: str) -> NoReturn:
    """Fail the test in CI (peers are mandatory there); skip it with the reason locally."""
    import pytest

    if IN_CI:
        pytest.fail(f"{reason} (CI=true: peers are required)", pytrace=False)
    pytest.skip(reason)


def peers_dir() -> Path:
    root = os.environ.get("SWITCHBOARD_PEERS_DIR") or "~/.cache/switchboard/peers"
    path = Path(root).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def venv_key(requirements: Sequence[str]) -> str:
    blob = json.dumps({"python": PYTHON_VERSION, "requirements": list(requirements)})
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def venv_bin(venv: Path, program: str) -> Path:
    return venv / "bin" / program


def installed_info(venv: Path) -> dict[str, object] | None:
    """What the marker recorded (requirements, install seconds, frozen versions), if complete."""
    marker = venv / MARKER
    if not marker.is_file():
        return None
    return json.loads(marker.read_text())


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(argv: list[str], *, timeout: float) -> str:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PeerError(f"`{' '.join(argv[:4])} …` failed: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise PeerError(f"`{' '.join(argv[:4])} …` exited {done.returncode}:\n{tail}")
    return done.stdout


def _create_venv(venv: Path) -> None:
    if shutil.which("uv"):
        _run(["uv", "venv", "--quiet", "--python", PYTHON_VERSION, str(venv)], timeout=120)
    else:
        _run([sys.executable, "-m", "venv", str(venv)], timeout=120)


def _install(venv: Path, requirements: Sequence[str]) -> str:
    python = str(venv_bin(venv, "python"))
    if shutil.which("uv"):
        _run(["uv", "pip", "install", "--python", python, *requirements], timeout=INSTALL_TIMEOUT)
        return _run(["uv", "pip", "freeze", "--python", python], timeout=60)
    _run([python, "-m", "pip", "install", "-q", *requirements], timeout=INSTALL_TIMEOUT)
    return _run([python, "-m", "pip", "freeze"], timeout=60)


def peer_venv(name: str, requirements: list[str]) -> Path:
    """A venv with `requirements`, created once and reused; safe for concurrent callers."""
    root = peers_dir()
    key = venv_key(requirements)
    venv = root / f"{name}-{key}"
    if installed_info(venv) is not None:
        return venv
    with _locked(root / f"{name}-{key}.lock"):
        if installed_info(venv) is not None:  # another process finished while we waited
            return venv
        if venv.exists():  # a killed install left a half-made venv
            shutil.rmtree(venv)
        started = time.monotonic()
        try:
            _create_venv(venv)
            frozen = _install(venv, requirements)
        except PeerError as exc:
            shutil.rmtree(venv, ignore_errors=True)
            raise PeerError(f"installing peer {name} ({' '.join(requirements)}): {exc}") from exc
        info = {
            "name": name,
            "requirements": list(requirements),
            "install_seconds": round(time.monotonic() - started, 1),
            "installed_at": time.time(),
            "frozen": frozen.splitlines(),
        }
        tmp = venv / (MARKER + ".tmp")
        tmp.write_text(json.dumps(info, indent=1))
        tmp.replace(venv / MARKER)  # atomic: the marker exists only when complete
    return venv


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it; tiny race until the peer binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- processes ---------------------------------------------------------------------------------
def _proc_table() -> dict[int, tuple[int, int, int, str]]:
    """pid -> (ppid, pgid, sid, state) for every live process, read from /proc."""
    table: dict[int, tuple[int, int, int, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: parse after the last ')'.
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[2]), int(fields[3]), fields[0])
    return table


ProcTable = Mapping[int, tuple[int, int, int, str]]


def descendants(root: int, table: ProcTable | None = None) -> set[int]:
    """Every process below `root` in the tree, plus any still in its session or process group."""
    table = table if table is not None else _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _pgid, _sid, _state) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    found |= {pid for pid, (_p, pgid, sid, _s) in table.items() if root in (pgid, sid)}
    found.discard(root)
    return found


def alive(pid: int) -> bool:
    """Running (zombies count as gone: they hold no resources and init may never reap them)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in {"Z", "X"}
    except OSError:
        return False


def _signal(pids: set[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


class PeerProcess:
    """A peer server in its own process group, logging to a file; stop() leaves nothing behind."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        health_url: str | None = None,
        ready_timeout: float = 60.0,
        *,
        stop_grace: float = 10.0,
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.env = dict(env or {})
        self.cwd = str(cwd) if cwd else None
        self.health_url = health_url
        self.ready_timeout = ready_timeout
        self.stop_grace = stop_grace
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None
        self.started_at: float | None = None
        self.ready_seconds: float | None = None
        self._known: set[int] = set()

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise PeerError(f"peer {self.name} was not started")
        return self.proc.pid

    def start(self) -> PeerProcess:
        log_dir = Path(tempfile.mkdtemp(prefix=f"peer-{self.name}-"))
        self.log_path = log_dir / f"{self.name}.log"
        with open(self.log_path, "wb") as log:
            try:
                self.proc = subprocess.Popen(
                    self.argv,
                    env={**os.environ, **self.env},
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own session and process group
                )
            except OSError as exc:
                raise PeerError(f"peer {self.name}: cannot run {self.argv[0]}: {exc}") from exc
        self.started_at = time.monotonic()
        return self

    def log_tail(self, lines: int = 50) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def wait_ready(self) -> PeerProcess:
        """Poll the health URL until it answers 2xx; raise with the log tail if it never does."""
        if self.proc is None or self.started_at is None:
            raise PeerError(f"peer {self.name} was not started")
        deadline = self.started_at + self.ready_timeout
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while True:
                code = self.proc.poll()
                if code is not None:
                    raise PeerError(
                        f"peer {self.name} exited with code {code} before it was ready; "
                        f"last 50 log lines ({self.log_path}):\n{self.log_tail()}"
                    )
                if self.health_url is None:
                    break
                try:
                    response = client.get(self.health_url)
                    if response.is_success:
                        break
                    last = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                if time.monotonic() > deadline:
                    raise PeerError(
                        f"peer {self.name} not ready at {self.health_url} after "
                        f"{self.ready_timeout:g}s ({last}); last 50 log lines "
                        f"({self.log_path}):\n{self.log_tail()}"
                    )
                time.sleep(0.2)
        self.ready_seconds = round(time.monotonic() - self.started_at, 2)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM the group and every descendant, SIGKILL whatever is left after the grace."""
        if self.proc is None:
            return
        root = self.proc.pid
        self._known |= descendants(root)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, signal.SIGTERM)
        _signal(self._known | {root}, signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        while time.monotonic() < deadline:
            self.proc.poll()  # reap our direct child so it stops counting as alive
            # Children spawned during shutdown, or orphaned ones, are still in our snapshot set.
            self._known |= descendants(root) if alive(root) else set()
            if not any(alive(pid) for pid in self._known | {root}):
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(root, signal.SIGKILL)
            self._known |= descendants(root) if alive(root) else set()
            _signal({pid for pid in self._known | {root} if alive(pid)}, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in self._known) and time.monotonic() < deadline:
            time.sleep(0.05)

    def __enter__(self) -> PeerProcess:
        self.start()
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prepare peer server venvs for the tests.")
    parser.add_argument(
        "--warm",
        nargs="+",
        metavar="PEER",
        required=True,
        help=f"peers to install: {', '.join(sorted(PEER_REQUIREMENTS))}",
    )
    args = parser.parse_args(argv)
    failed = 0
    for name in args.warm:
        if name not in PEER_REQUIREMENTS:
            print(f"{name}: unknown peer (known: {', '.join(sorted(PEER_REQUIREMENTS))})")
            failed += 1
            continue
        started = time.monotonic()
        try:
            venv = peer_venv(name, PEER_REQUIREMENTS[name])
        except PeerError as exc:
            print(f"{name}: FAILED {exc}")
            failed += 1
            continue
        info = installed_info(venv) or {}
        print(
            f"{name}: ready in {time.monotonic() - started:.1f}s "
            f"(install took {info.get('install_seconds')}s) at {venv}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())


BootedT = TypeVar("BootedT")


class BackgroundBoot(Generic[BootedT]):
    """Boots one peer in a background thread as soon as collection shows a selected test needs
    it (so several peers start side by side), stops it at session end, and reports its timings.

    A peer fixture module binds the three pytest hooks and its fixture to one instance:
    `pytest_collection_finish = boot.collection_finish`, and so on.
    """

    def __init__(
        self, name: str, fixture: str, boot: Callable[[], BootedT], timeout: float
    ) -> None:
        self.name = name
        self.fixture = fixture
        self.boot = boot
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-peer")
        self._future: Future[BootedT] | None = None

    def start(self) -> Future[BootedT]:
        if self._future is None:
            self._future = self._pool.submit(self.boot)
        return self._future

    def collection_finish(self, session: Any) -> None:
        if session.config.option.collectonly:
            return
        if any(self.fixture in getattr(item, "fixturenames", ()) for item in session.items):
            self.start()

    def session_finish(self, session: Any) -> None:
        if self._future is not None:
            try:
                self._future.result(timeout=self.timeout).stop()  # type: ignore[attr-defined]
            except Exception:  # boot failed: it already cleaned up after itself
                pass

    def terminal_summary(self, terminalreporter: Any) -> None:
        """Say where the peer's time went: install, start-up and loading its known data."""
        if self._future is not None and self._future.done() and self._future.exception() is None:
            peer: Any = self._future.result()
            terminalreporter.write_line(
                f"{self.name} peer: install {peer.install_seconds}s, start {peer.ready_seconds}s, "
                f"load {peer.load_seconds}s"
            )

    def server(self) -> BootedT:
        """For the session fixture: the booted peer, or fail/skip with the reason."""
        try:
            return self.start().result(timeout=self.timeout)
        except PeerError as exc:
            unavailable(f"{self.name.capitalize()} peer unavailable: {exc}")
        except TimeoutError:
            unavailable(f"{self.name.capitalize()} peer not ready within {self.timeout:g}s")


def write_captured(
    out_dir: Path,
    prefix: str,
    bodies: Mapping[str, object],
    *,
    replace: Mapping[str, str] | None = None,
) -> list[Path]:
    """Save real peer answers as `<prefix>_<name>.json` fixtures for the parsing unit tests.

    `replace` maps machine-specific text (temp dirs, venv paths) to placeholders so the
    committed files name no machine path.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, body in bodies.items():
        text = json.dumps(body, indent=1, sort_keys=True)
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        path = out_dir / f"{prefix}_{name}.json"
        path.write_text(text + "\n")
        paths.append(path)
    return paths
