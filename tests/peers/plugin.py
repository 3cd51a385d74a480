"""One fixture factory for every real peer server, and the session hooks that run them.

A peer module declares its session fixture with `session_peer(name, boot)`: `boot(home)` installs
the peer (cached venv), starts it, loads its known data and returns a `BootedPeer`. This plugin
(registered from tests/conftest.py) then, for every session:

- marks each test whose fixtures reach a peer with `peers`, so `-m "not peers"` is exact;
- moves those tests to the end of the run, so the peers boot while the other tests run;
- boots every peer a selected test needs as soon as collection finishes, side by side in
  background threads, each within its own bound (install included, so a first run that has to
  install a peer does not spend a test's timeout on it);
- stops them at session end and prints where each one's time went.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import pickle
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import pytest

from tests.peers.runtime import PeerError, PeerProcess, unavailable, write_captured

# Installing a peer's venv the first time takes up to a few minutes on a cold cache; starting
# and loading it takes up to two more on a busy 2-core machine.
BOOT_TIMEOUT = 900.0


@dataclass(kw_only=True)
class BootedPeer:
    """A running peer: its processes, its scratch directory and where its start-up time went."""

    processes: list[PeerProcess] = field(default_factory=list)
    home: Path | None = None
    install_seconds: float = 0.0
    ready_seconds: float = 0.0
    load_seconds: float = 0.0
    loaded_after: float = 0.0  # epoch seconds when loading the known data began

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.home is not None:
            shutil.rmtree(self.home, ignore_errors=True)


B = TypeVar("B", bound=BootedPeer)


def start_and_load(
    name: str,
    process: PeerProcess,
    load: Callable[[], dict[str, Any]] = dict,
    *,
    install_seconds: float = 0.0,
    started: Sequence[PeerProcess] = (),
) -> dict[str, Any]:
    """Start `process`, wait until its health URL answers, then `load` the peer's known data.

    Returns the BootedPeer fields: the processes (`started` before this one, then it), the
    timings, and the fields `load` returned. On any failure they are all stopped and the
    PeerError carries the peer's last log lines.
    """
    process.start()
    try:
        process.wait_ready()
        loaded_after, loading = time.time(), time.monotonic()
        loaded = load()
    except BaseException as exc:
        tail = process.log_tail(40)
        for running in (process, *started):
            running.stop()
        if isinstance(exc, PeerError | httpx.HTTPError | OSError | KeyError | ValueError):
            detail = str(exc) if "log lines" in str(exc) else f"{exc!r}\nlast log lines:\n{tail}"
            raise PeerError(f"{name} start/load failed: {detail}") from exc
        raise
    return {
        "processes": [*started, process],
        "install_seconds": install_seconds,
        "ready_seconds": process.ready_seconds or 0.0,
        "load_seconds": round(time.monotonic() - loading, 1),
        "loaded_after": loaded_after,
        **loaded,
    }


def boot_in_scratch(name: str, boot: Callable[[Path], B]) -> B:
    """Run `boot` in a new scratch directory, which the booted peer removes when it stops."""
    home = Path(tempfile.mkdtemp(prefix=f"sb-{name}-"))
    try:
        booted = boot(home)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    booted.home = home
    return booted


@dataclass
class Sharing:
    """How this process takes part in the session's peers.

    Alone (no xdist, `directory` None) it boots and stops them itself. Under xdist the workers
    collect the same tests, so they need the same peers: worker gw0 owns them (boots, publishes
    each booted peer into `directory` for the others, stops them once every worker is done) and
    the other workers follow (wait for what gw0 publishes). The controller made `directory`.
    """

    directory: Path | None = None
    worker: str = "gw0"
    workers: int = 1

    @property
    def owner(self) -> bool:
        return self.directory is None or self.worker == "gw0"

    def path(self, fixture: str, suffix: str) -> Path:
        assert self.directory is not None
        return self.directory / f"{fixture}.{suffix}"


SHARING = Sharing()


class SessionPeer(Generic[B]):
    """One peer for the whole session: booted once in its own thread, stopped at the end."""

    def __init__(self, fixture: str, name: str, boot: Callable[[Path], B], timeout: float) -> None:
        self.fixture = fixture
        self.name = name
        self.boot = boot
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"peer-{name}")
        self._future: Future[B] | None = None

    def start(self) -> None:
        """Boot in the background (the owner); a follower waits for it in get()."""
        if self._future is None and SHARING.owner:
            self._future = self._pool.submit(self._boot)

    def _boot(self) -> B:
        try:
            booted = boot_in_scratch(self.name, self.boot)
        except BaseException as exc:
            if SHARING.directory is not None:
                _publish(SHARING.path(self.fixture, "error"), str(exc).encode())
            raise
        if SHARING.directory is not None:
            _publish(SHARING.path(self.fixture, "pickle"), pickle.dumps(booted))
            _publish(
                SHARING.path(self.fixture, "summary"), summary_line(self.name, booted).encode()
            )
        return booted

    def _published(self) -> B:
        """What the owning worker booted: the same servers, not another copy of them."""
        done, failed = SHARING.path(self.fixture, "pickle"), SHARING.path(self.fixture, "error")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if done.exists():
                booted: B = pickle.loads(done.read_bytes())
                return booted
            if failed.exists():
                raise PeerError(failed.read_text())
            time.sleep(0.5)
        raise TimeoutError

    def wait(self) -> None:
        """Until the boot ended, well or not (at most the peer's bound); get() says how."""
        self.start()
        with contextlib.suppress(Exception):
            if self._future is None:
                self._published()
            else:
                concurrent.futures.wait([self._future], timeout=self.timeout)

    def get(self) -> B:
        """The booted peer, or fail (CI) / skip (locally) the test with the reason."""
        self.start()
        try:
            if self._future is None:
                return self._published()
            return self._future.result(timeout=self.timeout)
        except PeerError as exc:
            unavailable(f"{self.name} peer unavailable: {exc}")
        except TimeoutError:
            unavailable(f"{self.name} peer not ready within {self.timeout:g}s")

    def stop(self) -> None:
        if self._future is None or not SHARING.owner:
            return
        try:
            self._future.result(timeout=self.timeout).stop()
        except Exception:  # a failed boot already cleaned up after itself
            pass
        if SHARING.directory is not None:
            SHARING.path(self.fixture, "pickle").unlink(missing_ok=True)

    def summary(self) -> str | None:
        future = self._future
        if not SHARING.owner or future is None or not future.done() or future.exception():
            return None
        return summary_line(self.name, future.result())


def summary_line(name: str, peer: BootedPeer) -> str:
    return (
        f"{name} peer: install {peer.install_seconds}s, start {peer.ready_seconds}s, "
        f"load {peer.load_seconds}s"
    )


def _publish(path: Path, content: bytes) -> None:
    partial = path.with_suffix(".partial")
    partial.write_bytes(content)
    partial.replace(path)  # atomic: a follower never reads half a file


PEERS: dict[str, SessionPeer[Any]] = {}  # by fixture name


def session_peer(
    fixture: str, name: str, boot: Callable[[Path], B], *, timeout: float = BOOT_TIMEOUT
) -> Any:
    """The session fixture `fixture`, serving the peer `boot` makes (see the module docstring)."""
    peer: SessionPeer[B] = SessionPeer(fixture, name, boot, timeout)
    PEERS[fixture] = peer

    @pytest.fixture(scope="session", name=fixture)
    def serve() -> B:
        return peer.get()

    return serve


def needs_peer(item: pytest.Item) -> bool:
    return bool(PEERS.keys() & set(getattr(item, "fixturenames", ())))


# -- hooks ----------------------------------------------------------------------------------------
@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: one directory per run through which the workers share the peers."""
    config = node.config
    if not hasattr(config, "_switchboard_peers"):
        config._switchboard_peers = Path(tempfile.mkdtemp(prefix="sb-peers-"))
    node.workerinput["switchboard_peers"] = str(config._switchboard_peers)


def pytest_configure(config: pytest.Config) -> None:
    given = getattr(config, "workerinput", {})
    if "switchboard_peers" in given:
        SHARING.directory = Path(given["switchboard_peers"])
        SHARING.worker = given["workerid"]
        SHARING.workers = int(given["workercount"])


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if needs_peer(item):
            item.add_marker(pytest.mark.peers)
    items.sort(key=lambda item: item.get_closest_marker("peers") is not None)  # stable


@pytest.hookimpl(tryfirst=True, wrapper=True)  # outside pytest-timeout's wrapper
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    """Wait for the peers a test needs before its timeout starts counting: a first run installs
    them (minutes), which is no test's time; the boot has its own bound (BOOT_TIMEOUT)."""
    for fixture in sorted(PEERS.keys() & set(getattr(item, "fixturenames", ()))):
        PEERS[fixture].wait()
    return (yield)


def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.option.collectonly:
        return
    needed = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    for fixture in sorted(needed & PEERS.keys()):
        PEERS[fixture].start()


def pytest_sessionfinish() -> None:
    if SHARING.directory is not None:
        # The owner stops the shared peers only once every worker is done with them.
        (SHARING.directory / f"done-{SHARING.worker}").touch()
        if SHARING.owner:
            deadline = time.monotonic() + BOOT_TIMEOUT
            while len(list(SHARING.directory.glob("done-*"))) < SHARING.workers:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    for peer in PEERS.values():
        peer.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    shared: Path | None = getattr(terminalreporter.config, "_switchboard_peers", None)
    if shared is not None:  # the xdist controller: the owner published the timings
        for path in sorted(shared.glob("*.summary")):
            terminalreporter.write_line(path.read_text())
        return
    for peer in PEERS.values():
        line = peer.summary()
        if line:
            terminalreporter.write_line(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    shared: Path | None = getattr(config, "_switchboard_peers", None)
    if shared is None:
        return
    # The owner removes what it stopped; anything left behind (the owner crashed) goes here.
    for leftover in shared.glob("*.pickle"):
        with contextlib.suppress(Exception):
            for process in pickle.loads(leftover.read_bytes()).processes:
                process.kill_leftover()
    shutil.rmtree(shared, ignore_errors=True)


def capture_main(
    name: str,
    boot: Callable[[Path], B],
    capture: Callable[[B], dict[str, object]],
    *,
    home_as: str | None = None,
) -> None:
    """`python -m tests.peers.NAME --capture OUT_DIR`: boot the peer, save what `capture` asked
    it as OUT_DIR/NAME_*.json (what the parsing unit tests read), stop it.

    The peer's scratch directory becomes `home_as` and a venv `$VENV`, so no committed file
    names a machine path.
    """
    if sys.argv[1:2] != ["--capture"] or len(sys.argv) != 3:
        sys.exit(f"usage: python -m tests.peers.{name} --capture OUT_DIR")
    peer = boot_in_scratch(name, boot)
    try:
        print(summary_line(name, peer))
        replace = {str(peer.home): home_as} if home_as else {}
        if venv := getattr(peer, "venv", None):
            replace[str(venv)] = "$VENV"
        for written in write_captured(Path(sys.argv[2]), name, capture(peer), replace=replace):
            print(written)
    finally:
        peer.stop()
