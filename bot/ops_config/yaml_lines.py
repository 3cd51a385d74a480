"""Parse YAML into plain data while remembering the line of every key and item.

PyYAML keeps the last of two equal keys without a word, so duplicates are detected here and
reported; `<<` merge keys and anchors still work as in `yaml.safe_load`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.ops_config.consistency import Loc

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml is about 20x faster than the pure-Python parser and gives the same nodes and marks,
# but its composer recurses in C: absurdly nested input would overflow the C stack instead of
# raising. Every nesting level needs one of these characters (or a new line for block
# mappings), so their count bounds the depth; above the bound the Python parser is used.
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)
_NESTING_CHARS = "[{-?\n"
_FAST_NESTING_LIMIT = 4000


def _loader_for(text: str) -> Any:
    bound = sum(text.count(char) for char in _NESTING_CHARS)
    if _FAST_LOADER is not None and bound <= _FAST_NESTING_LIMIT:
        return _FAST_LOADER(text)
    return yaml.SafeLoader(text)


# Aliases can expand a small file into a huge tree ("billion laughs"); ops.yml is never that big.
MAX_NODES = 200_000


class YamlSyntaxError(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class YamlProblem:
    loc: Loc
    line: int
    message: str
    unreadable: bool = False  # the value at `loc` became None; other errors there are noise


@dataclass
class ParsedYaml:
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)

    def line_of(self, loc: Loc) -> int | None:
        """Line of `loc`, or of its deepest ancestor present in the file."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


def _syntax_message(exc: yaml.YAMLError, text: str = "") -> tuple[int | None, str]:
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML forbids, e.g. NUL
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character
        code = char if isinstance(char, int) else ord(char) if char else 0
        return line, f"YAML syntax error: character U+{code:04X} is not allowed ({exc.reason})"
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        text = exc.problem or "invalid YAML"
        if exc.context:
            text = f"{text} ({exc.context}"
            if exc.context_mark is not None and exc.context_mark.line != exc.problem_mark.line:
                text += f" on line {exc.context_mark.line + 1}"
            text += ")"
        return exc.problem_mark.line + 1, f"YAML syntax error: {text}"
    return None, f"YAML syntax error: {str(exc).splitlines()[0] if str(exc) else 'invalid'}"


class _Builder:
    def __init__(self, loader: Any, result: ParsedYaml) -> None:
        self.loader = loader
        self.result = result
        self.explicit_keys: dict[int, list[yaml.Node]] = {}
        self.stack: set[int] = set()
        self.visited = 0

    def problem(self, loc: Loc, node: yaml.Node, message: str, unreadable: bool = False) -> None:
        line = node.start_mark.line + 1
        self.result.problems.append(YamlProblem(loc, line, message, unreadable))

    def scalar(self, node: yaml.Node, loc: Loc) -> tuple[bool, Any]:
        try:
            return True, self.loader.construct_object(node, deep=True)
        except Exception as exc:  # unknown tag, impossible date, ...
            message = f"cannot read this value: {str(exc).splitlines()[0]}"
            self.problem(loc, node, message, unreadable=True)
            return False, None

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise YamlSyntaxError(node.start_mark.line + 1, "document too large (alias bomb?)")
        if id(node) in self.stack:
            message = "an alias refers to itself; recursive YAML is not allowed"
            self.problem(loc, node, message, unreadable=True)
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, loc)[1]
        self.stack.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode) and node.tag == _MAP_TAG:
                return self.mapping(node, loc)
            if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ_TAG:
                return [self.item(child, (*loc, i)) for i, child in enumerate(node.value)]
            self.problem(loc, node, f"unsupported YAML tag {node.tag!r}", unreadable=True)
            return None
        finally:
            self.stack.discard(id(node))

    def item(self, node: yaml.Node, loc: Loc) -> Any:
        self.result.lines.setdefault(loc, node.start_mark.line + 1)
        return self.build(node, loc)

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[Any, Any]:
        if id(node) not in self.explicit_keys:
            self.explicit_keys[id(node)] = [k for k, _ in node.value if k.tag != _MERGE_TAG]
            try:
                self.loader.flatten_mapping(node)
            except yaml.YAMLError as exc:
                line, message = _syntax_message(exc)
                self.result.problems.append(YamlProblem(loc, line or 0, message))
                node.value = [(k, v) for k, v in node.value if k.tag != _MERGE_TAG]
        explicit = {id(k) for k in self.explicit_keys[id(node)]}
        first_line: dict[Any, int] = {}
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(loc, key_node, "mapping keys must be plain values, not lists or maps")
                continue
            self.visited += 1
            readable, key = self.scalar(key_node, loc)
            if not readable:
                continue
            line = key_node.start_mark.line + 1
            if id(key_node) in explicit and key in first_line:
                self.problem(
                    (*loc, key),
                    key_node,
                    f"duplicate key {key!r} (first on line "
                    f"{first_line[key]}); YAML would silently keep only the last one",
                )
            if id(key_node) in explicit:
                first_line.setdefault(key, line)
            self.result.lines[(*loc, key)] = line
            out[key] = self.build(value_node, (*loc, key))
        return out


def parse_yaml(text: str) -> ParsedYaml:
    """Plain data plus line marks; raises YamlSyntaxError for text that is not YAML."""
    loader = None
    try:
        loader = _loader_for(text)
        node = loader.get_single_node()
        result = ParsedYaml(data=None)
        if node is None:
            return result
        result.lines[()] = node.start_mark.line + 1
        result.data = _Builder(loader, result).build(node, ())
        return result
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(*_syntax_message(exc, text)) from exc
    except RecursionError as exc:
        raise YamlSyntaxError(None, "YAML is nested too deeply") from exc
    finally:
        if loader is not None:
            loader.dispose()
