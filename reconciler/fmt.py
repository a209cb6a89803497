"""Canonical formatting of desired-state YAML, keeping comments (ruamel.yaml round trip).

Canonical means: names the user chooses (provider names, calendar keys, event uids) sorted;
the fields of each provider, calendar, event and member in the order the schema documents
them; lists kept in their order; 2-space indentation with list dashes indented under their
key. :func:`format_text` returns the new text and a note for the user: ruamel keeps a comment
(and a blank line) with the line before it, so a comment written *above* a key that moved
may now sit above another one. When anything moved in a file with comments, that is said
rather than hidden.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler import fmt_lines
from reconciler.model import (
    Calendar,
    CronofyProvider,
    Document,
    Event,
    LineWorksProvider,
    Member,
    OnlyOfficeProvider,
    Safety,
)

PROVIDER_FIELDS = list(dict.fromkeys(["type", *LineWorksProvider.model_fields,
                                      *OnlyOfficeProvider.model_fields,
                                      *CronofyProvider.model_fields]))


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines: a reviewer's diff should show what changed
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


BOM = "\ufeff"


def format_bytes(raw: bytes) -> tuple[bytes, list[str]]:
    """:func:`format_text` for a file's bytes, keeping what a checkout decides: a UTF-8 byte
    order mark stays, and so do CRLF line endings (the first line ending found is the file's),
    so that a Windows checkout does not show every line as changed. Raises
    UnicodeDecodeError on bytes that are not UTF-8, and what :func:`format_text` raises."""
    text = raw.decode("utf-8")
    bom = text.startswith(BOM)
    text = text.removeprefix(BOM)
    first = text.find("\n")
    newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"
    new, notes = format_text(text.replace("\r\n", "\n"))
    return ((BOM if bom else "") + new.replace("\n", newline)).encode(), notes


def format_text(text: str) -> tuple[str, list[str]]:
    """(canonical text, notes). Raises ruamel's YAMLError on text that is not YAML.

    A file already in fmt's layout is reordered line by line (:mod:`reconciler.fmt_lines`,
    ten times faster on a large file); any other goes through ruamel's round trip."""
    quick = fmt_lines.reorder(text, _canonical)
    if quick is not None:
        new, moved = quick
        return new, _notes(text, [_where(path) for path in moved])
    return _round_trip(text)


def _canonical(path: fmt_lines.Path, keys: list[str]) -> list[str] | None:
    """The keys of the mapping at ``path`` in canonical order (None: any order), the same
    order :func:`_round_trip` gives."""
    depth, head = len(path), path[:1]
    if depth == 0:
        order = list(Document.model_fields)
    elif depth == 1 and head in (("providers",), ("calendars",)):
        return sorted(keys)
    elif depth == 2 and head == ("providers",):
        order = PROVIDER_FIELDS
    elif depth == 2 and head == ("calendars",):
        order = list(Calendar.model_fields)
    elif depth == 3 and path[2] == "safety":
        order = list(Safety.model_fields)
    elif depth == 4 and head == ("calendars",) and path[2] == "members":
        order = list(Member.model_fields)
    elif depth == 3 and head == ("calendars",) and path[2] == "events":
        return sorted(keys)
    elif depth == 4 and head == ("calendars",) and path[2] == "events":
        order = list(Event.model_fields)
    elif depth == 6 and head == ("calendars",) and path[2] == "events" \
            and path[4] == "sharing":
        order = list(Member.model_fields)
    else:
        return None
    rank = {key: i for i, key in enumerate(order)}
    return sorted(keys, key=lambda k: (rank.get(k, len(rank)), keys.index(k)))


def _where(path: fmt_lines.Path) -> str:
    """A moved mapping's name in a note, as :func:`_round_trip` writes it."""
    if not path:
        return "top level"
    text = path[0]
    for i, part in enumerate(path[1:], 1):
        list_index = part.isdigit() and path[i - 1] in ("members", "sharing")
        text += f"[{part}]" if list_index else f".{part}"
    return text


def _notes(text: str, moved: list[str]) -> list[str]:
    if moved and ("#" in text or "\n\n" in text):
        return [f"{len(moved)} mapping(s) reordered ({moved[0]}{', ...' if len(moved) > 1 else ''}"
                "); comments and blank lines stay with the line before them, so check the "
                "ones near moved keys"]
    return []


def _round_trip(text: str) -> tuple[str, list[str]]:
    yaml = _yaml()
    data = yaml.load(text)
    notes: list[str] = []
    _reorder(data, (), notes, set())
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue(), _notes(text, notes)


def _reorder(node: Any, path: fmt_lines.Path, notes: list[str], seen: set[int]) -> None:
    """Put every mapping below ``node`` in :func:`_canonical` order, in place (the order the
    quick path gives, from the same rule), parents before children; ``notes`` gets each
    moved mapping's name. A node reached again through an alias is walked once (``seen``):
    an alias bomb would otherwise take exponential time."""
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, CommentedMap):
        keys = list(node)
        names = [str(k) for k in keys]
        wanted = _canonical(path, names)
        if wanted is not None and wanted != names:
            by_name = dict(zip(names, keys, strict=True))
            for name in wanted:
                node.move_to_end(by_name[name])
            notes.append(_where(path))
        for key, value in node.items():
            _reorder(value, (*path, str(key)), notes, seen)
    elif isinstance(node, CommentedSeq):
        for i, item in enumerate(node):
            _reorder(item, (*path, str(i)), notes, seen)
