"""LINE WORKS API 2.0 calendar emulator, after shared/providers.md §2 and §4.

Served under ``/v1.0``. Choices where the reference says NOT CONFIRMED:

- ``GET /calendars/{id}`` answers the same shape as the PATCH response (§2.3, inferred there).
- ``DELETE /calendars/{id}`` answers 204 with no body (§2.3: "probably 204").
- ``PATCH`` with ``members`` replaces the whole member list (§2.7.1).
- Creating a calendar does not add its creator as a member: the member list is exactly what
  was sent. The creator's access comes from ownership, which the API does not expose (L6).
- A member comes back with the id it was added with, an e-mail address included (L3 is NOT
  CONFIRMED). Answering a userId instead would hurt more, but no client could survive it
  with the documented API: providers.md lists no directory route that maps an e-mail to a
  userId, so the emulator cannot make a client prove anything by it.
- Error codes besides TOO_MANY_REQUESTS: INVALID_PARAMETER (400), UNAUTHORIZED (401),
  FORBIDDEN (403), RESOURCE_NOT_FOUND (404) (§2.6 does not confirm them).
- Events: an item is the series master and its exception components, one ``eventId`` (L1);
  PUT replaces all of them, so a PUT of the master alone drops the exceptions; ``recurrence``
  keeps every line as sent (RRULE, EXDATE, RDATE). Listing returns an item when any
  occurrence overlaps the window (occurrences are not expanded). Answers give RRULE lines
  without their ``RRULE:`` prefix (L2 is NOT CONFIRMED: the form a reader could miss).
  An all-day event is ``{"date"}`` with an exclusive end date, as in iCalendar (L6). A POST
  whose ``eventId`` already exists answers 409 CONFLICT (L6). Windows zone ids in ``timeZone``
  are accepted.
- The rate budget is per operation (method + route), ``rate_limit`` requests per 60 s
  (240/min on Standard plans, §2.5); every answer carries ``rateLimit-limit``,
  ``rateLimit-remaining`` and ``rateLimit-reset``; an exceeded budget answers 429.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from reconciler.sandbox.base import ApiFailure, Emulator, Faults, json_body, json_response
from reconciler.sandbox.occurrences import occurrences

PREFIX = "/v1.0"
MEMBER_TYPES = ("USER", "GROUP", "ORGUNIT")
ROLES = ("CALENDAR_EVENT_READ_WRITE", "EVENT_READ_WRITE", "EVENT_READ", "EVENT_READ_FREE_BUSY")
EMAIL_DOMAIN = "groups.sandbox.example"


class LineWorksEmulator(Emulator):
    name = "lineworks"

    def __init__(
        self,
        token: str,
        faults: Faults | None = None,
        *,
        user_id: str = "admin@sandbox.example",
        rate_limit: int = 240,
    ) -> None:
        super().__init__(token, faults)
        self.user_id = user_id
        self.rate_limit = rate_limit
        self.calendars: dict[str, dict[str, Any]] = {}
        self.personals: list[str] = []  # calendar ids in the user's calendar list, in order
        self.default_calendar_id = ""
        self.events: dict[str, dict[str, dict[str, Any]]] = {}  # calendar id -> event id -> item
        self._windows: dict[str, tuple[float, int]] = {}

    # -- shape ----------------------------------------------------------------------------
    def rules(self) -> Iterable[Rule]:
        p = PREFIX
        return [
            Rule(f"{p}/calendars", endpoint="create_calendar", methods=["POST"]),
            Rule(f"{p}/calendars/<calendar_id>", endpoint="get_calendar", methods=["GET"]),
            Rule(f"{p}/calendars/<calendar_id>", endpoint="patch_calendar", methods=["PATCH"]),
            Rule(f"{p}/calendars/<calendar_id>", endpoint="delete_calendar", methods=["DELETE"]),
            Rule(f"{p}/users/<user_id>/calendar", endpoint="default_calendar", methods=["GET"]),
            Rule(f"{p}/users/<user_id>/calendar-personals", endpoint="personals",
                 methods=["GET"]),
            Rule(f"{p}/users/<user_id>/calendar-personals/<calendar_id>", endpoint="personal",
                 methods=["GET"]),
            Rule(f"{p}/users/<user_id>/calendars/<calendar_id>/events", endpoint="list_events",
                 methods=["GET"]),
            Rule(f"{p}/users/<user_id>/calendars/<calendar_id>/events", endpoint="create_event",
                 methods=["POST"]),
            Rule(f"{p}/users/<user_id>/calendars/<calendar_id>/events/<event_id>",
                 endpoint="get_event", methods=["GET"]),
            Rule(f"{p}/users/<user_id>/calendars/<calendar_id>/events/<event_id>",
                 endpoint="put_event", methods=["PUT"]),
            Rule(f"{p}/users/<user_id>/calendars/<calendar_id>/events/<event_id>",
                 endpoint="delete_event", methods=["DELETE"]),
            Rule(f"{p}/users/<user_id>/calendar/events", endpoint="list_default_events",
                 methods=["GET"]),
            Rule(f"{p}/users/<user_id>/calendar/events", endpoint="create_default_event",
                 methods=["POST"]),
        ]

    def authorized(self, request: Request, endpoint: str) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def error(self, status: int, message: str, code: str = "") -> Response:
        codes = {400: "INVALID_PARAMETER", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
                 404: "RESOURCE_NOT_FOUND", 429: "TOO_MANY_REQUESTS"}
        if status == 429:
            message, code = "API rate limit exceeded", "TOO_MANY_REQUESTS"
        return json_response({"code": code or codes.get(status, "ERROR"),
                              "description": message}, status)

    def throttled(self, request: Request, endpoint: str) -> Response | None:
        now = time.monotonic()
        with self.lock:
            start, used = self._windows.get(endpoint, (now, 0))
            if now - start >= 60:
                start, used = now, 0
            used += 1
            self._windows[endpoint] = (start, used)
        if used <= self.rate_limit:
            return None
        response = json_response(
            {"code": "TOO_MANY_REQUESTS", "description": "API rate limit exceeded"}, 429
        )
        response.headers.update(self.extra_headers(request, endpoint))
        return response

    def extra_headers(self, request: Request, endpoint: str) -> dict[str, str]:
        with self.lock:
            start, used = self._windows.get(endpoint, (time.monotonic(), 0))
        reset = max(0, int(60 - (time.monotonic() - start)))
        return {
            "rateLimit-limit": str(self.rate_limit),
            "rateLimit-remaining": str(max(0, self.rate_limit - used)),
            "rateLimit-reset": str(reset),
        }

    # -- state ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"calendars": self.calendars, "personals": self.personals,
                    "events": self.events,
                    "default_calendar_id": self.default_calendar_id, "user_id": self.user_id}

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.calendars = dict(data.get("calendars", {}))
            self.personals = list(data.get("personals", []))
            self.events = {k: dict(v) for k, v in data.get("events", {}).items()}
            self.default_calendar_id = str(data.get("default_calendar_id", ""))
            self.user_id = str(data.get("user_id", self.user_id))

    def add_calendar(self, name: str, *, description: str = "", is_public: bool = False,
                     members: list[dict[str, str]] | None = None, kind: str = "INDIVIDUAL",
                     calendar_id: str | None = None, in_list: bool = True) -> str:
        """Seed or test helper: store a calendar as if the API had created it."""
        cid = calendar_id or f"calendar-{uuid.uuid4()}"
        with self.lock:
            self.calendars[cid] = {
                "calendarId": cid,
                "calendarName": name,
                "description": description,
                "isPublic": is_public,
                "members": list(members or []),
                "calendarEmail": f"{cid}@{EMAIL_DOMAIN}",
                "type": kind,
            }
            if in_list:
                self.personals.append(cid)
        return cid

    # -- handlers -------------------------------------------------------------------------
    def _user(self, user_id: str) -> None:
        if user_id not in ("me", self.user_id):
            raise ApiFailure(404, f"user not found: {user_id}")

    def _calendar(self, calendar_id: str) -> dict[str, Any]:
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            raise ApiFailure(404, f"calendar not found: {calendar_id}")
        return calendar

    def on_create_calendar(self, request: Request) -> Response:
        body = _object(json_body(request))
        if not isinstance(body.get("calendarName"), str) or not body["calendarName"].strip():
            raise ApiFailure(400, "calendarName is required")
        _validate_calendar(body)
        cid = self.add_calendar(
            body["calendarName"],
            description=body.get("description", ""),
            is_public=bool(body.get("isPublic", False)),
            members=body.get("members", []),
        )
        return json_response(self.calendars[cid], 201)

    def on_get_calendar(self, request: Request, calendar_id: str) -> Response:
        return json_response(self._calendar(calendar_id))

    def on_patch_calendar(self, request: Request, calendar_id: str) -> Response:
        calendar = self._calendar(calendar_id)
        body = _object(json_body(request))
        _validate_calendar(body)
        if "calendarName" in body and not str(body["calendarName"]).strip():
            raise ApiFailure(400, "calendarName must not be empty")
        for key in ("calendarName", "description", "isPublic", "members"):
            if key in body:
                calendar[key] = body[key]  # members: the whole list is replaced
        return json_response(calendar)

    def on_delete_calendar(self, request: Request, calendar_id: str) -> Response:
        self._calendar(calendar_id)
        del self.calendars[calendar_id]
        self.events.pop(calendar_id, None)
        self.personals = [c for c in self.personals if c != calendar_id]
        return Response(status=204)

    def on_default_calendar(self, request: Request, user_id: str) -> Response:
        self._user(user_id)
        return json_response(self._calendar(self.default_calendar_id))

    def on_personals(self, request: Request, user_id: str) -> Response:
        self._user(user_id)
        try:
            count = int(request.args.get("count", "50"))
        except ValueError:
            raise ApiFailure(400, "count must be an integer") from None
        if not 1 <= count <= 50:
            raise ApiFailure(400, "count must be between 1 and 50")
        start = _decode_cursor(request.args.get("cursor"))
        ids = self.personals[start : start + count]
        items = [_personal(self.calendars[c], i) for i, c in enumerate(ids, start)]
        more = start + count < len(self.personals)
        cursor = _encode_cursor(start + count) if more else None
        return json_response({"calendarPersonals": items,
                              "responseMetaData": {"nextCursor": cursor}})

    def on_personal(self, request: Request, user_id: str, calendar_id: str) -> Response:
        self._user(user_id)
        if calendar_id not in self.personals:
            raise ApiFailure(404, f"calendar not in the user's list: {calendar_id}")
        return json_response(_personal(self.calendars[calendar_id],
                                       self.personals.index(calendar_id)))


    # -- events ---------------------------------------------------------------------------
    def add_event(self, calendar_id: str, component: dict[str, Any]) -> None:
        """Seed or test helper: store an event as if the API had created it."""
        with self.lock:
            self.events.setdefault(calendar_id, {})[component["eventId"]] = {
                "eventComponents": [component], "organizerCalendarId": calendar_id}

    def _events_of(self, user_id: str, calendar_id: str) -> dict[str, dict[str, Any]]:
        self._user(user_id)
        self._calendar(calendar_id)
        return self.events.setdefault(calendar_id, {})

    def on_list_events(self, request: Request, user_id: str, calendar_id: str) -> Response:
        events = self._events_of(user_id, calendar_id)
        start = _query_time(request, "fromDateTime")
        until = _query_time(request, "untilDateTime")
        if until <= start:
            raise ApiFailure(400, "untilDateTime must be after fromDateTime")
        if until - start > dt.timedelta(days=31):
            raise ApiFailure(400, "the range of fromDateTime and untilDateTime must be 31 days "
                             "or less")
        found = [_answered(item) for item in events.values() if _overlaps(item, start, until)]
        return json_response({"events": found})

    def on_list_default_events(self, request: Request, user_id: str) -> Response:
        return self.on_list_events(request, user_id, self.default_calendar_id)

    def on_create_event(self, request: Request, user_id: str, calendar_id: str) -> Response:
        events = self._events_of(user_id, calendar_id)
        components = _components(json_body(request))
        event_id = components[0].get("eventId") or f"event-{uuid.uuid4()}"
        if event_id in events:
            raise ApiFailure(409, f"eventId already exists: {event_id}", "CONFLICT")
        for comp in components:
            comp["eventId"] = event_id
        item = {"eventComponents": components, "organizerCalendarId": calendar_id}
        events[event_id] = item
        return json_response(item, 201)

    def on_create_default_event(self, request: Request, user_id: str) -> Response:
        return self.on_create_event(request, user_id, self.default_calendar_id)

    def on_get_event(self, request: Request, user_id: str, calendar_id: str,
                     event_id: str) -> Response:
        return json_response(_answered(self._event(user_id, calendar_id, event_id)))

    def on_put_event(self, request: Request, user_id: str, calendar_id: str,
                     event_id: str) -> Response:
        self._event(user_id, calendar_id, event_id)
        components = _components(json_body(request))
        for comp in components:
            comp["eventId"] = event_id  # PUT replaces every field: nothing else is kept
        item = {"eventComponents": components, "organizerCalendarId": calendar_id}
        self.events[calendar_id][event_id] = item
        return json_response(item)

    def on_delete_event(self, request: Request, user_id: str, calendar_id: str,
                        event_id: str) -> Response:
        self._event(user_id, calendar_id, event_id)
        del self.events[calendar_id][event_id]
        return Response(status=204)

    def _event(self, user_id: str, calendar_id: str, event_id: str) -> dict[str, Any]:
        item = self._events_of(user_id, calendar_id).get(event_id)
        if item is None:
            raise ApiFailure(404, f"event not found: {event_id}")
        return item


def _answered(item: dict[str, Any]) -> dict[str, Any]:
    """An item as answered: RRULE lines without their prefix (see the module docstring)."""
    comps = []
    for comp in item["eventComponents"]:
        lines = [line[6:] if line.upper().startswith("RRULE:") else line
                 for line in comp.get("recurrence") or []]
        comps.append({**comp, "recurrence": lines} if "recurrence" in comp else comp)
    return {**item, "eventComponents": comps}


def _components(body: Any) -> list[dict[str, Any]]:
    body = _object(body)
    if "sendNotification" in body and not isinstance(body["sendNotification"], bool):
        raise ApiFailure(400, "sendNotification must be a boolean")
    comps = body.get("eventComponents")
    if not isinstance(comps, list) or not comps:
        raise ApiFailure(400, "eventComponents is required")
    ids = {c.get("eventId") for c in comps if isinstance(c, dict)}
    if len(ids) > 1:
        raise ApiFailure(400, "all eventComponents must share one eventId")
    for comp in comps:
        if not isinstance(comp, dict):
            raise ApiFailure(400, "eventComponents[] must be objects")
        event_id = comp.get("eventId")
        bad_id = not isinstance(event_id, str) or not 1 <= len(event_id) <= 255
        if event_id is not None and bad_id:
            raise ApiFailure(400, "eventId must be 1 to 255 characters")
        summary = comp.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) > 200:
            raise ApiFailure(400, "summary is required and at most 200 characters")
        for key, limit in (("description", 5000), ("location", 100)):
            value = comp.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > limit):
                raise ApiFailure(400, f"{key} must be at most {limit} characters")
        if not isinstance(comp.get("start"), dict):
            raise ApiFailure(400, "start is required")
        _span(comp)  # validates the times
        rules = comp.get("recurrence", [])
        if not isinstance(rules, list) or len(rules) > 100:
            raise ApiFailure(400, "recurrence must be an array of at most 100 items")
    return comps


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(WINDOWS_TO_OLSON.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiFailure(400, f"unknown timeZone: {name}") from None


def _point(value: Any, is_end: bool) -> dt.datetime:
    if not isinstance(value, dict):
        raise ApiFailure(400, "start and end must be objects")
    try:
        if "date" in value:
            day = dt.date.fromisoformat(value["date"])
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
        moment = dt.datetime.fromisoformat(value["dateTime"])
    except (KeyError, TypeError, ValueError):
        raise ApiFailure(400, "dateTime (YYYY-MM-DDThh:mm:ss) or date is required") from None
    zone = _zone(value.get("timeZone") or "UTC")
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def _span(comp: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    start = _point(comp["start"], False)
    end = _point(comp.get("end") or comp["start"], True)
    if end < start:
        raise ApiFailure(400, "end must not be before start")
    return start, end


def _overlaps(item: dict[str, Any], start: dt.datetime, until: dt.datetime) -> bool:
    for comp in item["eventComponents"]:
        first, last = _span(comp)
        rules = [r[6:] if r.upper().startswith("RRULE:") else r
                 for r in comp.get("recurrence") or [] if r.upper().startswith(("RRULE:", "FREQ="))]
        if occurrences(first, last, rules[0] if rules else "", start, until, limit=1):
            return True
    return False


def _query_time(request: Request, name: str) -> dt.datetime:
    raw = request.args.get(name)
    if not raw:
        raise ApiFailure(400, f"{name} is required")
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ApiFailure(400, f"{name} must be YYYY-MM-DDThh:mm:ssTZD") from None
    if value.tzinfo is None:
        raise ApiFailure(400, f"{name} needs a time zone designator")
    return value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiFailure(400, "request body must be a JSON object")
    return body


def _validate_calendar(body: dict[str, Any]) -> None:
    name = body.get("calendarName")
    if name is not None and (not isinstance(name, str) or len(name) > 50):
        raise ApiFailure(400, "calendarName must be a string of at most 50 characters")
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 1000):
        raise ApiFailure(400, "description must be a string of at most 1000 characters")
    if "isPublic" in body and not isinstance(body["isPublic"], bool):
        raise ApiFailure(400, "isPublic must be a boolean")
    members = body.get("members")
    if members is None:
        return
    if not isinstance(members, list):
        raise ApiFailure(400, "members must be an array")
    seen = set()
    for member in members:
        if not isinstance(member, dict) or not isinstance(member.get("id"), str):
            raise ApiFailure(400, "members[].id is required")
        if member.get("type") not in MEMBER_TYPES:
            raise ApiFailure(400, f"members[].type must be one of {', '.join(MEMBER_TYPES)}")
        if member.get("role") not in ROLES:
            raise ApiFailure(400, f"members[].role must be one of {', '.join(ROLES)}")
        key = (member["id"], member["type"])
        if key in seen:
            raise ApiFailure(400, "members must be unique")
        seen.add(key)


def _personal(calendar: dict[str, Any], order: int) -> dict[str, Any]:
    return {"calendarId": calendar["calendarId"], "calendarName": calendar["calendarName"],
            "isShowOnLNBList": True, "displayOrder": order, "resourceLocation": 0}


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        return int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        raise ApiFailure(400, "invalid cursor") from None
