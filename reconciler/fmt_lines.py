"""The quick path of ``calrecon fmt``: reorder the lines of a file that is already laid out as
fmt writes, without the comment-keeping round trip.

ruamel.yaml's round trip keeps comments, but reads about 0.2 MB a second (20 s for a file of
20,000 events, where ``validate`` takes 2 s). Most files fmt meets are already formatted, or
only have keys out of order. For such a file, the canonical text is the same lines in
another order: each entry of a mapping is a run of lines (its key, its value, and the
comments and blank lines after it, which is where ruamel keeps them too), and reordering the
mapping permutes those runs. :func:`reorder` does that from libyaml's node positions.

Contract of :func:`reorder`: it returns ``(text, moved)`` only for a file in the layout fmt
writes (block style, two spaces per level, sequence dashes indented two under their key, one
space after each colon, single-line scalars of kinds ruamel writes back unchanged), where the
result is exactly what the round trip would give (tests/test_fmt.py compares the two on
generated files). For anything else it returns None, and the caller takes the round trip.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml

Path = tuple[str, ...]
Order = Callable[[Path, list[str]], list[str] | None]
"""(path of the mapping, its keys) -> the keys in canonical order, or None to keep them. A
sequence item's index is in the path as its decimal string."""

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Plain scalars ruamel writes back exactly as read: text (tag str), true/false, decimal
# integers, ISO dates and date-times. Other spellings (yes, 0x1F, 1e3, ~) may be rewritten.
_PLAIN_KEPT = re.compile(
    r"(true|false|-?(0|[1-9][0-9]*)"
    r"|\d{4}-\d\d-\d\d([Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)?)?)\Z")


PLAIN_OR_QUOTED = (None, "", "'", '"')


class _NotCanonical(Exception):
    """The file is not in fmt's layout: leave it to the round trip."""


@dataclass
class _Move:
    """Reorder a mapping's entries: ``spans`` are their line ranges, ``order`` the new order
    of their indexes, ``column`` the column of the keys, ``depth`` for inner-first order."""

    spans: list[tuple[int, int]]
    order: list[int]
    column: int
    depth: int


def reorder(text: str, order: Order) -> tuple[str, list[Path]] | None:
    """The text with every mapping's keys in ``order``, and the paths of the mappings that
    moved; None when the file is not in fmt's layout (see the module docstring)."""
    if "\t" in text or not text.endswith("\n") or text.startswith(("---", "%")) \
            or "\n---" in text or "\n..." in text or "\r" in text:
        return None
    try:
        node = yaml.compose(text, Loader=SafeLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(node, yaml.MappingNode) or node.flow_style or not node.value:
        return None
    lines = text.splitlines(keepends=True)
    walker = _Walker(text, lines, order)
    try:
        walker.mapping(node, 0, len(lines), (), 0)
    except _NotCanonical:
        return None
    for move in sorted(walker.moves, key=lambda m: -m.depth):
        _apply(lines, move)
    return "".join(lines), walker.moved


class _Walker:
    def __init__(self, text: str, lines: list[str], order: Order) -> None:
        self.text = text
        self.lines = lines
        self.order = order
        self.moves: list[_Move] = []
        self.moved: list[Path] = []

    def mapping(self, node: yaml.MappingNode, column: int, end: int, path: tuple[str, ...],
                depth: int, in_item: bool = False) -> None:
        if node.flow_style:
            raise _NotCanonical
        keys: list[str] = []
        starts: list[int] = []
        for i, (key, value) in enumerate(node.value):
            if not isinstance(key, yaml.ScalarNode) or key.tag != "tag:yaml.org,2002:str" \
                    or key.start_mark.column != column or key.start_mark.line != \
                    key.end_mark.line or key.style not in PLAIN_OR_QUOTED:
                raise _NotCanonical
            line = key.start_mark.line
            if i == 0 and in_item:
                pass  # the first key of a sequence item is on the dash's line
            elif self.lines[line][:column].strip() or (starts and line <= starts[-1]):
                raise _NotCanonical
            after = self.text[key.end_mark.index:self.text.index("\n", key.end_mark.index)]
            if not isinstance(value, yaml.ScalarNode) and not _empty_flow(value) \
                    and not re.match(r":( +#.*)?\Z", after):
                raise _NotCanonical  # a collection starts on the line after 'key:'
            keys.append(key.value)
            starts.append(line)
        spans = [(start, starts[i + 1] if i + 1 < len(starts) else end)
                 for i, start in enumerate(starts)]
        for (key, value), (start, stop), name in zip(node.value, spans, keys, strict=True):
            if _empty_flow(value) and stop - start > 1:
                # ruamel hangs a comment after '{}' or '[]' on the next key instead
                raise _NotCanonical
            self.value(key, value, column, stop, (*path, name), depth)
        wanted = self.order(path, keys)
        if wanted is not None and wanted != keys:
            index = {k: i for i, k in enumerate(keys)}
            self.moves.append(_Move(spans, [index[k] for k in wanted], column, depth))
            self.moved.append(path)

    def value(self, key: yaml.ScalarNode, value: yaml.Node, column: int, end: int,
              path: tuple[str, ...], depth: int) -> None:
        line = key.start_mark.line
        if isinstance(value, yaml.ScalarNode) or _empty_flow(value):
            self.scalar(key, value)
        elif isinstance(value, yaml.MappingNode):
            if value.start_mark.line <= line:
                raise _NotCanonical
            self.mapping(value, column + 2, end, path, depth + 1)
        elif isinstance(value, yaml.SequenceNode):
            self.sequence(value, column + 2, end, path, depth + 1, line)
        else:  # pragma: no cover - composed YAML has no other node kinds
            raise _NotCanonical

    def sequence(self, node: yaml.SequenceNode, column: int, end: int,
                 path: tuple[str, ...], depth: int, key_line: int) -> None:
        if node.flow_style or node.start_mark.line <= key_line:
            raise _NotCanonical
        starts = []
        for item in node.value:
            line = item.start_mark.line
            if item.start_mark.column != column + 2 or \
                    self.lines[line][:column + 2] != " " * column + "- ":
                raise _NotCanonical
            starts.append(line)
        for i, item in enumerate(node.value):
            stop = starts[i + 1] if i + 1 < len(starts) else end
            if isinstance(item, yaml.MappingNode):
                self.mapping(item, column + 2, stop, (*path, str(i)), depth, in_item=True)
            elif isinstance(item, yaml.ScalarNode):
                self.scalar(None, item)
            else:
                raise _NotCanonical

    def scalar(self, key: yaml.ScalarNode | None, node: yaml.Node) -> None:
        """A value on its key's line, after exactly ': ', in a style kept as written."""
        start, stop = node.start_mark, node.end_mark
        if start.line != stop.line or start.index == stop.index:
            raise _NotCanonical  # several lines, or an empty value
        if key is not None and (start.line != key.end_mark.line
                                or self.text[key.end_mark.index:start.index] != ": "):
            raise _NotCanonical
        if isinstance(node, yaml.ScalarNode):
            if not node.style:  # plain (libyaml says "", the Python parser None)
                if not _PLAIN_KEPT.match(node.value) and node.tag != "tag:yaml.org,2002:str":
                    raise _NotCanonical
            elif node.style not in ("'", '"'):
                raise _NotCanonical  # a block scalar
        rest = self.text[stop.index:self.text.index("\n", stop.index)]
        if rest and not re.match(r" +#", rest):
            raise _NotCanonical  # trailing white space, or something after the value


def _empty_flow(node: yaml.Node) -> bool:
    return isinstance(node, yaml.MappingNode | yaml.SequenceNode) and bool(node.flow_style) \
        and not node.value


def _apply(lines: list[str], move: _Move) -> None:
    """Permute the entries' line runs in place; the first line of the mapping keeps what
    stands before its key (a sequence item's dash), the others get plain indentation."""
    first, last = move.spans[0][0], move.spans[-1][1]
    prefix = lines[first][:move.column]
    blocks = [lines[a:b] for a, b in move.spans]
    out: list[str] = []
    for n, i in enumerate(move.order):
        block = list(blocks[i])
        head = prefix if n == 0 else " " * move.column
        block[0] = head + block[0][move.column:]
        out.extend(block)
    lines[first:last] = out
