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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import httpx
import psutil

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
# Requests made while loading a peer's known data: a peer that is still starting, beside the
# others, on a loaded 2-core machine can take far longer to answer than it will in the tests.
LOAD_TIMEOUT = 120.0
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
T = TypeVar("T")


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
def locked(path: Path) -> Iterator[None]:
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
    with locked(root / f"{name}-{key}.lock"):
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


def installed(name: str) -> tuple[Path, float]:
    """The peer's venv (see peer_venv) and the seconds it took to get it (0 when cached)."""
    started = time.monotonic()
    venv = peer_venv(name, PEER_REQUIREMENTS[name])
    return venv, round(time.monotonic() - started, 1)


def poll_until(what: str, timeout: float, probe: Callable[[], T], every: float = 1.0) -> T:
    """Call `probe` until it returns something truthy; PeerError naming `what` after `timeout`.

    A probe whose request timed out counts as "not yet": a peer busy starting up (beside the
    others, on a loaded machine) answers slowly, and the deadline is what decides.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        try:
            found = probe()
        except httpx.TimeoutException as exc:
            last = f"{type(exc).__name__} on the last probe"
        else:
            if found:
                return found
        time.sleep(every)
    raise PeerError(f"{what} not done after {timeout:g}s ({last})")


def checked(response: httpx.Response, what: str) -> Any:
    """The JSON of a successful answer; a PeerError with the status and body otherwise."""
    if not response.is_success:
        raise PeerError(f"{what} -> {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


# -- processes ---------------------------------------------------------------------------------
def alive(pid: int) -> bool:
    """Running (zombies count as gone: they hold no resources and init may never reap them)."""
    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False


def family(root: int) -> dict[int, psutil.Process]:
    """Every process below `root` in the tree, plus any still in its session or process group.

    The session/group half finds daemons whose parent already exited (re-parented to init);
    the tree half finds children that left the session (setsid), as Dagster's workers do.
    """
    found: dict[int, psutil.Process] = {}
    with contextlib.suppress(psutil.Error):
        found.update({p.pid: p for p in psutil.Process(root).children(recursive=True)})
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.pid != root and root in (os.getpgid(proc.pid), os.getsid(proc.pid)):
                found.setdefault(proc.pid, proc)
    return found


def _signal(procs: Iterable[psutil.Process], sig: signal.Signals) -> None:
    for proc in procs:
        # psutil checks the process is still the one we saw (pid reuse) before signalling it.
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def _running(procs: Iterable[psutil.Process]) -> list[psutil.Process]:
    return [p for p in procs if alive(p.pid) and p.is_running()]


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
        self._known: dict[int, psutil.Process] = {}
        self.root_pid: int | None = None
        self.root_started: float | None = None  # its create time: pids are reused

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
        self.root_pid = self.proc.pid
        with contextlib.suppress(psutil.Error):
            self.root_started = psutil.Process(self.proc.pid).create_time()
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
        self._known.update(family(root))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, signal.SIGTERM)
        _signal(self._known.values(), signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        while time.monotonic() < deadline:
            self.proc.poll()  # reap our direct child so it stops counting as alive
            if alive(root):  # children spawned during shutdown join what we stop
                self._known.update(family(root))
            elif not _running(self._known.values()):
                break
            time.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(root, signal.SIGKILL)
            if alive(root):
                self._known.update(family(root))
            _signal(_running(self._known.values()), signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        psutil.wait_procs(_running(self._known.values()), timeout=5)

    def __getstate__(self) -> dict[str, Any]:
        """What another process may know of this peer (xdist workers share one server): its
        name, timings and root pid, not the handles to stop it, which stay where it started."""
        state = self.__dict__.copy()
        state.update(proc=None, _known={})
        return state

    def kill_leftover(self) -> None:
        """From another process: SIGKILL what is left of this peer (its starter crashed)."""
        if self.root_pid is None or self.root_started is None:
            return
        with contextlib.suppress(psutil.Error):
            root = psutil.Process(self.root_pid)
            if root.create_time() != self.root_started:  # the pid now belongs to another process
                return
            _signal([root, *family(self.root_pid).values()], signal.SIGKILL)

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


def _warm(name: str) -> str:
    started = time.monotonic()
    try:
        venv = peer_venv(name, PEER_REQUIREMENTS[name])
    except PeerError as exc:
        return f"{name}: FAILED {exc}"
    info = installed_info(venv) or {}
    return (
        f"{name}: ready in {time.monotonic() - started:.1f}s "
        f"(install took {info.get('install_seconds')}s) at {venv}"
    )


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
    unknown = [name for name in args.warm if name not in PEER_REQUIREMENTS]
    for name in unknown:
        print(f"{name}: unknown peer (known: {', '.join(sorted(PEER_REQUIREMENTS))})")
    wanted = [name for name in args.warm if name in PEER_REQUIREMENTS]
    with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:  # installs side by side
        outcomes = list(pool.map(_warm, wanted))
    for line in outcomes:
        print(line)
    failed = len(unknown) + sum(
        line.startswith(f"{name}: FAILED") for name, line in zip(wanted, outcomes, strict=True)
    )
    return 1 if failed else 0


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


if __name__ == "__main__":
    sys.exit(main())
