"""CLI start-up: `switchboard ask` against `python -c "import bot"`, side by side in one run.

Each round runs, as fresh subprocesses and in this order, the baseline (`import bot`: the
interpreter and the package, nothing else), `switchboard ask "/ops help"` and
`switchboard ask "/ops spend 30d"` against the demo company (no ops.yml), warm (the demo's spend
files cached by an earlier run, as every run of the day after the first) and cold. Prints the median
wall time of each (and the minimum, and the median CPU time: on a busy machine wall time is
mostly waiting for a core), the difference to the baseline and the ratio. Run:
`uv run python bench/cli.py [--rounds 11]`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "bot.cli"]
COMMANDS: dict[str, list[str]] = {
    "import bot": [sys.executable, "-c", "import bot"],
    'ask "/ops help"': [*CLI, "ask", "/ops help"],
    'ask "/ops spend 30d" (demo)': [*CLI, "ask", "/ops spend 30d"],
    "  the same, first run of the day": [*CLI, "ask", "/ops spend 30d"],
}
# The first run of a day writes the demo company's spend files into the cache; later runs read
# them. That command gets an empty cache directory every time.
COLD = "  the same, first run of the day"
# Targets from the issue: help within 0.8 s of the baseline and under 1 s; spend under 1.5 s.
TARGETS = {'ask "/ops help"': (0.8, 1.0), 'ask "/ops spend 30d" (demo)': (None, 1.5)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run. CPU time says how much work the command is
    even on a busy machine, where wall time mostly measures the queue for a core."""
    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-cli-") as tmp:
        work = Path(tmp)
        # As a user's shell runs it: no Slack or Switchboard settings, and bytecode cached
        # (a machine-wide PYTHONDONTWRITEBYTECODE would recompile our modules on every run).
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "SWITCHBOARD_")) and k != "PYTHONDONTWRITEBYTECODE"
        }
        env = {
            **clean,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"sqlite:///{work / 'bench.db'}",
            "SWITCHBOARD_CONFIG": str(work / "absent-ops.yml"),  # the demo company
        }
        env["SWITCHBOARD_CACHE_DIR"] = str(work / "cache")

        def env_for(name: str, round_: int) -> dict[str, str]:
            if name != COLD:
                return env
            return {**env, "SWITCHBOARD_CACHE_DIR": str(work / f"cold-{round_}")}

        for name, argv in COMMANDS.items():  # warm-up: bytecode, migrations, the spend cache
            run_once(argv, env_for(name, -1), work)
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
        before = os.getloadavg()
        for round_ in range(args.rounds):
            for name, argv in COMMANDS.items():
                wall, cpu = run_once(argv, env_for(name, round_), work)
                times[name].append(wall)
                cpus[name].append(cpu)
    base = statistics.median(times["import bot"])
    after = os.getloadavg()
    print(
        f"{args.rounds} rounds, nproc {os.cpu_count()}, "
        f"1-min load average {before[0]:.2f} at start, {after[0]:.2f} at end"
    )
    print(f"{'command':32} {'median':>8} {'min':>8} {'CPU':>7} {'- base':>8} {'x base':>7}  target")
    for name, samples in times.items():
        median = statistics.median(samples)
        cpu = statistics.median(cpus[name])
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            within, total = target
            ok = median < total and (within is None or median - base <= within)
            parts = ([f"<= base + {within} s"] if within is not None else []) + [f"< {total} s"]
            verdict = f"{' and '.join(parts)}: {'met' if ok else 'MISSED'}"
        print(
            f"{name:32} {median:7.3f}s {min(samples):7.3f}s {cpu:6.3f}s {median - base:+7.3f}s "
            f"{median / base:6.1f}x  {verdict}"
        )


if __name__ == "__main__":
    main()
