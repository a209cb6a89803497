"""Decoding of the ONLYOFFICE calendar listing (``GET calendar/calendars/{start}/{end}``):
only the fields calrecon reads, one calendar at a time.

Why: the listing carries every calendar with every occurrence in the window, and each event
carries its whole permissions object (the two action descriptors, every principal's name and
``canEdit``) and an ``owner`` object, none of which calrecon reads: 55% of the 5.4 MB of the
``org-large`` benchmark's listing. Decoded whole (orjson, or :mod:`reconciler.jsonpieces`
in pieces), all of it became Python objects, kept with the listing for the plan's life.
Decoded against the shapes below (msgspec), what is not declared is skipped as it is
scanned: 30-38 ms of CPU instead of 70-83 on that listing, and half the objects kept.

Contract of :func:`decode_listing`:

- for a valid answer, the calendars of the envelope's ``response`` as plain dicts that hold
  the declared fields that the answer has, with their values as ``json.loads`` gives them
  (an item of the list that is not an object comes as it is); the other fields are dropped:
  the provider and :mod:`~reconciler.providers.onlyoffice.mapping` read nothing else.
  Among what they read are the fields a full-replace ``PUT calendar/{id}`` sends back
  (colours, time zone, default alert, hidden);
- ``None`` when ``response`` is ``{}`` (nothing), as for every ONLYOFFICE call;
- one calendar is decoded per step, with ``pause()`` after each ``PIECE`` bytes or so, so
  that a plan's other answers are handled in between (see :mod:`reconciler.jsonpieces`);
- a body that is not JSON, not an envelope, an envelope with a nonzero ``status``, a
  ``response`` that is not a list, or a declared field of the wrong kind (an object where
  a list is due, say) raises :class:`~reconciler.errors.ResponseError` or
  :class:`~reconciler.errors.ApiError` naming the provider, the request, the status and,
  for a wrong kind, where in the answer (``$[3].events[0].permissions``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import msgspec

from reconciler.errors import ResponseError
from reconciler.http import Answer, not_json
from reconciler.providers.onlyoffice.envelope import open_envelope

PIECE = 64 * 1024  # bytes decoded between two pauses: about 0.3 ms of CPU


class _Action(TypedDict, total=False):
    id: Any


class _Principal(TypedDict, total=False):
    id: Any
    isGroup: Any
    selectedAction: _Action | None


class _SharingData(TypedDict, total=False):
    items: list[_Principal] | None


class _Permissions(TypedDict, total=False):
    data: _SharingData | None


class _Event(TypedDict, total=False):
    objectId: Any
    uniqueId: Any
    title: Any
    description: Any
    start: Any
    end: Any
    allDay: Any
    repeatRule: Any
    alert: Any
    permissions: _Permissions | None


class _Calendar(TypedDict, total=False):
    objectId: Any
    title: Any
    description: Any
    isEditable: Any
    permissions: _Permissions | None
    events: list[_Event] | None
    # sent back whole by a full-replace PUT calendar/{id} (mapping.calendar_body)
    textColor: Any
    backgroundColor: Any
    timeZone: Any
    defaultAlert: Any
    isHidden: Any


class _Envelope(TypedDict, total=False):
    status: Any
    error: Any
    # the calendars left undecoded (msgspec.Raw), to decode one at a time
    response: list[msgspec.Raw] | dict[str, Any] | str | float | bool | None


_ENVELOPE = msgspec.json.Decoder(_Envelope | list[Any] | str | float | bool | None)
_CALENDAR = msgspec.json.Decoder(_Calendar)
_ANY = msgspec.json.Decoder()


def decode_listing(response: Answer, address: str, method: str, path: str,
                   pause: Callable[[], None]) -> list[Any] | None:
    """The listing's calendars (see the module docstring)."""
    status = response.status_code
    where = f"{address}: {method} {path} answered HTTP {status}"

    def problem(detail: str) -> ResponseError:
        return ResponseError(f"{where} {detail}", address=address, method=method, path=path,
                             status=status)

    try:
        body = _ENVELOPE.decode(response.content)
    except msgspec.ValidationError as exc:
        raise problem(f"with an answer of an unexpected shape: {exc}") from None
    except msgspec.DecodeError:
        raise not_json(response, address, method, path) from None
    raws = open_envelope(body, status, address, method, path)
    if raws is None:
        return None
    if not isinstance(raws, list):
        raise problem("with an envelope whose response is not a list")
    calendars: list[Any] = []
    since = 0
    for index, raw in enumerate(raws):
        try:
            # Not an object: no calendar calrecon manages; kept as it is for the caller to skip.
            decoder = _CALENDAR if bytes(memoryview(raw)[:1]) == b"{" else _ANY
            calendars.append(decoder.decode(raw))
        except msgspec.ValidationError as exc:
            # msgspec names the place from the calendar's root: "$.events[0]" -> "$[7].events[0]"
            detail = str(exc).replace("`$", f"`$[{index}]", 1)
            raise problem(f"with a calendar of an unexpected shape: {detail}") from None
        since += len(raw)
        if since >= PIECE:
            since = 0
            pause()
    return calendars
