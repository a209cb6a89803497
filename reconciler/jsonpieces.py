"""JSON decoding of a large answer in pieces, with a pause between pieces.

Why: an answer of megabytes (ONLYOFFICE's read of one calendar over a wide window, with every
occurrence and its permissions) decoded in one call holds the plan's one loop for tens of
milliseconds, and the answers to the other requests in flight wait that long before their
next requests can leave. Decoded in pieces, with :func:`reconciler.greenio.checkpoint` as the
pause, those answers are handled between the pieces. The pieces are decoded by the standard
library's decoder (its C scanner): orjson has no partial decode, and the C scanner takes only
~25% longer on such data (70 ms against 55 for a 5.4 MB ONLYOFFICE listing). The listing
itself, the largest answer of a plan, has a decoder of its own that also skips the fields
calrecon does not read (:mod:`reconciler.providers.onlyoffice.listing`).

Contract of :func:`loads`:

- for any valid JSON text, the value that ``json.loads`` gives (hence ``orjson.loads`` too,
  but for the two cases below);
- the top-level value and, when it is an object or array, the objects and arrays directly
  inside it are walked here; every value below them is decoded in one call, and ``pause()``
  is called after such a value once ``piece`` characters have been decoded since the last
  pause. So an envelope whose list holds many calendars pauses between calendars;
- invalid JSON raises ``json.JSONDecodeError`` (a ``ValueError``) with its position: bytes
  that are not UTF-8, NaN and Infinity (not JSON, though ``json.loads`` takes them),
  trailing data, and nesting too deep for the decoder (it would raise RecursionError);
- a walked object or array whose members turn out small (under ``SMALL`` characters each
  on average, from its 32nd member on) is decoded again from its start in one call: a step
  of the walk costs a few microseconds, which for a long list of numbers would make the
  walk many times slower than one call (4.4 s instead of 58 ms for 4 MB of them);
- unlike orjson it accepts lone surrogates in strings and integers past 64 bits, as
  ``json.loads`` does; no value orjson accepts is decoded differently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

PIECE = 64 * 1024  # characters decoded between two pauses, about 0.5 ms of CPU
SMALL = 512  # characters per member, on average, under which a container is not walked


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)
_SPACE = re.compile(r"[ \t\n\r]*")


class _Walk:
    """One decode: the text, the pause, and how much was decoded since the last pause."""

    def __init__(self, text: str, pause: Callable[[], None], piece: int) -> None:
        self.text = text
        self.pause = pause
        self.piece = piece
        self.since = 0

    def fail(self, message: str, at: int) -> json.JSONDecodeError:
        return json.JSONDecodeError(message, self.text, at)

    def space(self, at: int) -> int:
        match = _SPACE.match(self.text, at)
        assert match is not None  # the pattern matches the empty string
        return match.end()

    def value(self, at: int, depth: int) -> tuple[Any, int]:
        """The value starting at ``at`` (no space before it) and where it ends."""
        char = self.text[at:at + 1]
        if depth < 2 and char == "{":
            return self.object(at, depth + 1)
        if depth < 2 and char == "[":
            return self.array(at, depth + 1)
        return self.whole(at)

    def whole(self, at: int) -> tuple[Any, int]:
        """The value starting at ``at``, decoded in one call."""
        try:
            value, end = _DECODER.raw_decode(self.text, at)
        except RecursionError:
            raise self.fail("nested too deeply", at) from None
        except json.JSONDecodeError:
            raise
        except ValueError as exc:  # NaN or Infinity, refused by _no_constant
            raise self.fail(str(exc), at) from None
        self.since += end - at
        if self.since >= self.piece:
            self.since = 0
            self.pause()
        return value, end

    def small(self, start: int, at: int, members: int) -> bool:
        """Whether the members of the container opened at ``start`` are, so far, too small
        to be worth a step of the walk each."""
        return members >= 32 and at - start < members * SMALL

    def object(self, start: int, depth: int) -> tuple[dict[str, Any], int]:
        result: dict[str, Any] = {}
        at = self.space(start + 1)
        if self.text[at:at + 1] == "}":
            return result, at + 1
        members = 0  # not len(result): a repeated key is one entry but was a step
        while True:
            if self.small(start, at, members):
                return self.whole(start)
            if self.text[at:at + 1] != '"':
                raise self.fail("Expecting property name enclosed in double quotes", at)
            key, at = _DECODER.raw_decode(self.text, at)  # a string: it starts with '"'
            at = self.space(at)
            if self.text[at:at + 1] != ":":
                raise self.fail("Expecting ':' delimiter", at)
            result[key], at = self.value(self.space(at + 1), depth)
            members += 1
            at = self.space(at)
            char = self.text[at:at + 1]
            if char == "}":
                return result, at + 1
            if char != ",":
                raise self.fail("Expecting ',' delimiter", at)
            at = self.space(at + 1)

    def array(self, start: int, depth: int) -> tuple[list[Any], int]:
        result: list[Any] = []
        at = self.space(start + 1)
        if self.text[at:at + 1] == "]":
            return result, at + 1
        while True:
            if self.small(start, at, len(result)):
                return self.whole(start)
            item, at = self.value(at, depth)
            result.append(item)
            at = self.space(at)
            char = self.text[at:at + 1]
            if char == "]":
                return result, at + 1
            if char != ",":
                raise self.fail("Expecting ',' delimiter", at)
            at = self.space(at + 1)


def loads(data: bytes, pause: Callable[[], None], piece: int = PIECE) -> Any:
    """The JSON value of ``data`` (UTF-8), decoded in pieces with ``pause()`` between them
    (see the module docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"not UTF-8: {exc.reason}", "", exc.start) from None
    walk = _Walk(text, pause, piece)
    value, end = walk.value(walk.space(0), 0)
    end = walk.space(end)
    if end != len(text):
        raise walk.fail("Extra data", end)
    return value
