"""Load ops.yml and report every problem at once, each with its path in the file and its line."""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

from bot.ops_config.consistency import Loc, consistency_problems, format_path
from bot.ops_config.explain import explain_error
from bot.ops_config.schema import SKIP_CONSISTENCY, OpsConfig
from bot.ops_config.sources import deprecated_keys
from bot.ops_config.yaml_lines import ParsedYaml, YamlSyntaxError, parse_yaml

log = structlog.get_logger(__name__)

_SECRET_VALUES = [
    (re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{8,}"), "a Slack token"),
    (re.compile(r"\bxapp-[A-Za-z0-9-]{8,}"), "a Slack app-level token"),
    (re.compile(r"\b(AKIA|ASIA)[A-Z0-9]{16}\b"), "an AWS access key id"),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}"), "a GitHub token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
]


class ConfigIssue(BaseModel):
    """One problem in ops.yml: where it is (dotted path, line) and what is wrong. A warning
    (an old key still read) does not stop the file from loading."""

    model_config = ConfigDict(frozen=True)

    path: str = ""
    line: int | None = None
    message: str
    file: str = "ops.yml"
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        message = f"warning: {self.message}" if self.severity == "warning" else self.message
        return f"{where}: {self.path}: {message}" if self.path else f"{where}: {message}"


class OpsConfigError(Exception):
    """ops.yml cannot be used; `issues` lists every problem found."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = list(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.issues)
        file = self.issues[0].file if self.issues else "ops.yml"
        head = f"{count} problem{'s' if count != 1 else ''} in {file}:"
        return "\n".join([head, *(f"  {issue}" for issue in self.issues)])


def _secret_values(data: Any) -> list[tuple[Loc, str]]:
    """Values that look like credentials, wherever they are (iterative: data may be deep)."""
    hits: list[tuple[Loc, str]] = []
    stack: list[tuple[Loc, Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*loc, key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in enumerate(value))
        elif isinstance(value, str):
            what = next((what for pattern, what in _SECRET_VALUES if pattern.search(value)), None)
            if what:
                hits.append(
                    (
                        loc,
                        f"this value looks like {what}; secrets never go in ops.yml: "
                        "put it in an environment variable and name that variable "
                        "with a *_env key",
                    )
                )
    return hits


def _analyse(text: str, file: str) -> tuple[OpsConfig | None, list[ConfigIssue]]:
    def issue(loc: Loc, line: int | None, message: str) -> ConfigIssue:
        return ConfigIssue(path=format_path(loc), line=line, message=message, file=file)

    try:
        parsed: ParsedYaml = parse_yaml(text)
    except YamlSyntaxError as exc:
        return None, [issue((), exc.line, exc.message)]
    if parsed.data is None and not parsed.problems:
        return None, [issue((), None, "file is empty: start from ops.example.yml")]
    if not isinstance(parsed.data, dict):
        return None, [
            issue(
                (),
                parsed.line_of(()),
                "the top level must be a mapping of keys (version, workspace, teams, ownership, …)",
            )
        ]
    config: OpsConfig | None = None
    found: list[tuple[Loc, str]] = []
    try:
        config = OpsConfig.model_validate(parsed.data, context={SKIP_CONSISTENCY: True})
    except ValidationError as exc:
        found += [explain_error(error, parsed.data) for error in exc.errors(include_url=False)]
    found += [(problem.loc, problem.message) for problem in consistency_problems(parsed.data)]
    # A value YAML could not read became None: schema complaints about that None are noise,
    # and a `token:` key already said what a token-looking value would.
    quiet = {p.loc for p in parsed.problems if p.unreadable} | {loc for loc, _ in found}
    found += [hit for hit in _secret_values(parsed.data) if hit[0] not in quiet]
    unreadable = {p.loc for p in parsed.problems if p.unreadable}
    issues = [issue(p.loc, p.line, p.message) for p in parsed.problems]
    issues += [issue(loc, parsed.line_of(loc), msg) for loc, msg in found if loc not in unreadable]
    issues += [
        ConfigIssue(
            path=format_path(loc),
            line=parsed.line_of(loc),
            message=message,
            file=file,
            severity="warning",
        )
        for loc, message in deprecated_keys(parsed.data)
    ]
    unique = list(dict.fromkeys(issues))
    unique.sort(key=lambda i: (i.line is None, i.line or 0, i.path))
    errors = [i for i in unique if i.severity == "error"]
    return (config if not errors else None), unique


def _read(path: Path) -> tuple[str | None, ConfigIssue | None]:
    def fail(message: str) -> tuple[None, ConfigIssue]:
        return None, ConfigIssue(path="", line=None, message=message, file=str(path))

    try:
        return path.read_bytes().decode("utf-8-sig"), None
    except FileNotFoundError:
        return fail("file not found (copy ops.example.yml to start, or set SWITCHBOARD_CONFIG)")
    except IsADirectoryError:
        return fail("is a directory, not a YAML file")
    except UnicodeDecodeError as exc:
        return fail(f"is not UTF-8 text (byte {exc.start})")
    except OSError as exc:
        return fail(f"cannot be read: {exc.strerror or exc}")


def check_ops_config_text(text: str, *, file: str = "ops.yml") -> list[ConfigIssue]:
    return _analyse(text, file)[1]


def parse_ops_config(text: str, *, file: str = "ops.yml") -> OpsConfig:
    """Validate ops.yml text; raises OpsConfigError listing every error (warnings are logged)."""
    config, issues = _analyse(text, file)
    if config is None:
        raise OpsConfigError([i for i in issues if i.severity == "error"])
    for issue in issues:
        log.warning("ops_config.warning", file=file, path=issue.path, message=issue.message)
    return config


def check_ops_config(path: str | PathLike[str]) -> list[ConfigIssue]:
    """Every problem in the file at `path` (empty when valid); never raises for bad content."""
    text, failure = _read(Path(path))
    if failure is not None or text is None:
        return [failure] if failure else []
    return check_ops_config_text(text, file=str(path))


def load_ops_config(path: str | PathLike[str]) -> OpsConfig:
    """The validated config at `path`; raises OpsConfigError listing every problem."""
    text, failure = _read(Path(path))
    if failure is not None or text is None:
        raise OpsConfigError([failure] if failure else [])
    config = parse_ops_config(text, file=str(path))
    log.info(
        "ops_config.loaded",
        path=str(path),
        teams=len(config.teams),
        digests=len(config.digests),
        sources=sorted(config.sources.enabled()),
    )
    return config
