"""YAML files -> :class:`~reconciler.model.Desired`, every error located at ``file:line:col``.

Contract of :func:`load`:

- accepts files and directories (every ``*.yaml``/``*.yml`` below a directory, sorted, hidden
  folders skipped); merges them; a provider or calendar key defined twice is an error naming
  both places;
- rejects duplicate mapping keys, unknown fields, wrong types, values out of range, and (via
  :mod:`reconciler.validate`) what the calendar's provider cannot express;
- reports *every* problem found, as one :class:`~reconciler.errors.ConfigError`;
- never touches the network, and bounds its own work: files over ``MAX_FILE_BYTES``, documents
  that expand to more than ``MAX_NODES`` values (YAML alias bombs) or nest deeper than
  ``MAX_DEPTH`` are refused before they can exhaust memory.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from reconciler.errors import ConfigError, Problem
from reconciler.model import PROVIDER_TYPES, Desired, Document
from reconciler.sources import Location, Sources, YamlPath
from reconciler.validate import check_desired

# libyaml's scanner (PyYAML's C binding) is ~10x faster than the pure-Python one, with the
# same nodes and marks; the pure loader stays the fallback where libyaml is not built in.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64

STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Loaded:
    """The merged desired state and where each part of it came from."""

    desired: Desired
    sources: Sources
    files: tuple[str, ...]


class _TooBig(Exception):
    """A document over a size limit, located where the limit was crossed."""

    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[Problem]]:
    """Expand files and directories into the ordered list of YAML files to read."""
    files: list[Path] = []
    problems: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in (".yaml", ".yml")
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                problems.append(Problem(str(path), 0, 0, "no *.yaml or *.yml files in directory"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Problem(str(path), 0, 0, "no such file or directory"))
    unique: list[Path] = []
    for f in files:
        if f not in unique:
            unique.append(f)
    return unique, problems


def load(paths: Iterable[str | Path]) -> Loaded:
    """Load, validate and merge the YAML at ``paths``. Raises ConfigError with every problem.

    A problem in one entry does not hide the others: each file's valid providers and calendars
    are still merged and checked against each other, so one run reports everything. Only a
    check that would be a guess is left out: a calendar whose provider is unreadable (its
    entry is invalid, or a file could not be read at all) is not checked against it.
    """
    # The load makes hundreds of thousands of small objects and no garbage cycles; the cyclic
    # collector would walk them all again and again for nothing (about a third of the load).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(paths)
    finally:
        if collecting:
            gc.enable()


def _load(paths: Iterable[str | Path]) -> Loaded:
    files, problems = discover(paths)
    sources = Sources()
    providers: dict[str, Any] = {}
    calendars: dict[str, Any] = {}
    unreadable: set[str] = set()  # provider keys whose definition was refused
    unknown = False  # a file's providers could not be read at all: any key may be there
    for path in files:
        name = str(path)
        data, positions, file_problems = parse_file(path)
        problems.extend(file_problems)
        if data is None and file_problems:  # not YAML at all: nothing to check further
            unknown = True
            continue
        doc_sources = Sources({k: Location(name, *v) for k, v in positions.items()})
        by_entry: dict[YamlPath, list[YamlPath]] = {}  # (section, key) -> its paths
        for path_key in doc_sources.locations:
            by_entry.setdefault(path_key[:2], []).append(path_key)
        doc, refused, entry_problems = _document(data, doc_sources, name)
        problems.extend(entry_problems)
        unreadable |= refused
        unknown |= NO_SECTION in refused
        for section, target, values in (
            ("providers", providers, doc.providers),
            ("calendars", calendars, doc.calendars),
        ):
            for key, value in values.items():
                here = doc_sources.locate((section, key))
                if key in target:
                    first = sources.locate((section, key))
                    noun = section[:-1]
                    problems.append(
                        doc_sources.problem(
                            (section, key),
                            f"{noun} '{key}' is defined twice: here and at {first}",
                            name,
                        )
                    )
                    continue
                target[key] = value
                for path_key in by_entry.get((section, key), ()):
                    sources.locations[path_key] = doc_sources.locations[path_key]
                if here is not None:
                    sources.locations[(section, key)] = here
    checked = calendars
    if problems:
        checked = {k: c for k, c in calendars.items()
                   if c.provider in providers or not (unknown or c.provider in unreadable)}
    desired = Desired(providers=providers, calendars=checked)
    problems.extend(check_desired(desired, sources))
    if problems:
        raise ConfigError(problems)
    return Loaded(desired, sources, tuple(str(f) for f in files))


SECTIONS = ("providers", "calendars")
NO_SECTION = ""  # in the refused keys: the providers section itself could not be read


def _document(data: Any, sources: Sources, name: str
              ) -> tuple[Document, set[str], list[Problem]]:
    """The file's valid entries, the provider keys refused (:data:`NO_SECTION` when the
    providers section itself could not be read), and every problem.

    The whole document is validated at once (the common, valid case); when that fails, each
    entry is validated alone so that the valid ones still take part in the cross-file checks.
    """
    try:
        return Document.model_validate(data if data is not None else {}), set(), []
    except ValidationError as exc:
        if not isinstance(data, dict):
            return Document(), {NO_SECTION}, _problems_from_validation(exc, sources, name)
    problems: list[Problem] = []
    refused: set[str] = set()
    rest = {k: v for k, v in data.items() if k not in SECTIONS or not isinstance(v, dict)}
    try:
        Document.model_validate(rest)
    except ValidationError as exc:
        problems.extend(_problems_from_validation(exc, sources, name))
        if "providers" in rest:
            refused.add(NO_SECTION)
    kept: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for section in SECTIONS:
        entries = data.get(section)
        for key, value in entries.items() if isinstance(entries, dict) else ():
            try:
                entry = Document.model_validate({section: {key: value}})
            except ValidationError as exc:
                problems.extend(_problems_from_validation(exc, sources, name))
                if section == "providers":
                    refused.add(key)
                continue
            kept[section][key] = getattr(entry, section)[key]
    return Document(**kept), refused, problems


def parse_file(path: Path) -> tuple[Any, dict[YamlPath, tuple[int, int]], list[Problem]]:
    """Read one YAML file into plain data plus the (line, col) of every value."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            limit = MAX_FILE_BYTES // (1024 * 1024)
            message = f"file is {size} bytes; the limit is {limit} MiB"
            return None, {}, [Problem(name, 0, 0, message)]
        raw = path.read_bytes()
    except OSError as exc:
        return None, {}, [Problem(name, 0, 0, f"cannot read file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = line_col(raw[: exc.start].decode("utf-8", "replace"))
        return None, {}, [Problem(name, line, col, "file is not UTF-8 text")]
    return parse_text(text, name)


def parse_text(text: str, name: str) -> tuple[Any, dict[YamlPath, tuple[int, int]], list[Problem]]:
    """Parse YAML text; see :func:`parse_file`."""
    try:
        loader = SafeLoader(text)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"YAML syntax error: {exc.problem or exc.context}"
        if mark is None:
            return None, {}, [Problem(name, 0, 0, message)]
        return None, {}, [Problem(name, mark.line + 1, mark.column + 1, message)]
    except yaml.reader.ReaderError as exc:
        line, col = line_col(text[: exc.position])
        return None, {}, [Problem(name, line, col, f"not YAML text: {exc.reason}")]
    except yaml.YAMLError as exc:
        return None, {}, [Problem(name, 0, 0, f"YAML error: {exc}")]
    loader.dispose()
    if node is None:
        return None, {}, []
    builder = _Builder(loader, name)
    try:
        data = builder.build(node, ())
    except _TooBig as exc:
        return None, {}, [Problem(name, exc.line, exc.col, str(exc))]
    return data, builder.positions, builder.problems


def _not_a_string_key(node: yaml.Node, key: Any) -> str:
    """Why a plain key that YAML reads as something other than text is refused."""
    kind = ("null" if key is None else "a boolean" if isinstance(key, bool)
            else "a number" if isinstance(key, int | float) else "a date")
    return (f"the key {node.value!r} is read by YAML as {kind} ({key}), not as text: "
            f"quote it ('{node.value}') to keep it as written")


class _Builder:
    """Turns composed YAML nodes into plain data, recording positions and duplicate keys."""

    def __init__(self, loader: Any, name: str) -> None:
        self.loader = loader
        self.name = name
        self.positions: dict[YamlPath, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def build(self, node: yaml.Node, path: YamlPath, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            # Aliased nodes carry their anchor's marks, so the place to name is the
            # top-level key whose value expands: the line a reader can act on.
            line, col = self.positions.get(path[:1], (1, 1))
            raise _TooBig(f"the value of '{path[0]}' expands to more than {MAX_NODES} values "
                          "(alias bomb?)" if path else
                          f"document expands to more than {MAX_NODES} values (alias bomb?)",
                          line, col)
        if depth > MAX_DEPTH:
            mark = node.start_mark
            raise _TooBig(f"document nests deeper than {MAX_DEPTH} levels (a recursive alias, "
                          "or indentation gone wrong?)", mark.line + 1, mark.column + 1)
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            own = {id(k) for k, _ in node.value}
            self.loader.flatten_mapping(node)  # resolves '<<' merge keys
            result: dict[Any, Any] = {}
            merged: set[str] = set()  # keys that came from a '<<' merge: own keys override
            for key_node, value_node in node.value:
                reported = len(self.problems)
                key = self._scalar(key_node)
                if len(self.problems) > reported:
                    continue  # not a plain value, or not readable: said already
                if not isinstance(key, str):
                    # A key is an identity (a calendar's, an event's uid): YAML reading
                    # `0123` as 83 or `yes` as true would silently make it another one.
                    self._problem(key_node, _not_a_string_key(key_node, key))
                    continue
                if key in merged and id(key_node) in own:
                    merged.discard(key)
                    del result[key]
                elif key in result and id(key_node) not in own:
                    continue  # an earlier merge source wins, as YAML specifies
                if key in result:
                    first = self.positions.get(path + (key,), (0, 0))
                    self._problem(key_node, f"duplicate key '{key}' (first at line {first[0]})")
                    continue
                self.positions[path + (key,)] = (
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                )
                result[key] = self.build(value_node, path + (key,), depth + 1)
                if id(key_node) not in own:
                    merged.add(key)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self._problem(node, "expected a plain value here")
            return None
        if node.tag == STR_TAG:
            return node.value  # what the constructor returns for text, without its dispatch
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self._problem(node, f"cannot read value: {exc.problem}")
            return None
        except (ValueError, OverflowError) as exc:  # e.g. a timestamp like 2027-02-30
            self._problem(node, f"cannot read value {node.value!r}: {exc}")
            return None

    def _problem(self, node: yaml.Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.name, mark.line + 1, mark.column + 1, message))


def _problems_from_validation(exc: ValidationError, sources: Sources, name: str) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = tuple(part for part in err["loc"] if part != "[key]")
        if len(loc) > 2 and loc[0] == "providers" and loc[2] in PROVIDER_TYPES:
            loc = loc[:2] + loc[3:]  # pydantic names the union member; the YAML does not
        where = ".".join(_fmt(part) for part in loc).replace(".[", "[")
        kind = err["type"]
        if kind == "union_tag_invalid":  # a provider's `type` names no known provider
            ctx = err.get("ctx", {})
            loc = (*loc, ctx.get("discriminator", "type").strip("'"))
            where = ".".join(_fmt(part) for part in loc).replace(".[", "[")
            message = (f"unknown provider type {ctx.get('tag')!r} "
                       f"(known: {ctx.get('expected_tags', '')})").replace("'", "")
        elif kind == "union_tag_not_found":
            loc = (*loc, "type")
            where = ".".join(_fmt(part) for part in loc).replace(".[", "[")
            message = "missing required field 'type'"
        elif kind == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
        elif kind == "missing":
            message = f"missing required field '{loc[-1]}'"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if "[key]" in err["loc"]:
                message = f"invalid key '{loc[-1]}': {message}"
        prefix = f"{where}: " if where else ""
        problems.append(sources.problem(loc, prefix + message, name))
    return problems


def _fmt(part: str | int) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)


def line_col(prefix: str) -> tuple[int, int]:
    """The 1-based (line, column) just after ``prefix``, the text before a position."""
    line = prefix.count("\n") + 1
    col = len(prefix) - (prefix.rfind("\n") + 1) + 1
    return line, col
