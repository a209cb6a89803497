"""ONLYOFFICE calendar API emulator, after shared/providers.md §1 and §4.

Served at the portal root: ``/api/2.0/...``, every route also with a ``.json`` suffix.
Faithful to the traps the document lists: the envelope on every answer, 201 on POST, most
errors as HTTP 500 with a message, the raw (not Bearer) token, upsert by UID with an
``@domain`` suffix, event answers as occurrence lists, full-replace PUTs that clear omitted
sharing, the silent downgrade to a view update without full access, and the default calendar
that listing creates. Choices where it says NOT CONFIRMED:

- a failed login answers 500 "User authentication failed" (§1.1 infers the generic mapping);
- ``alertType`` accepts names or ints; a PUT icsevent without one sets Never (0), the .NET
  default of the enum;
- ``calendarId`` of POST icsevent accepts an int or digits as text (lenient JSON binding);
- timed events are answered in the calendar's time zone offset; all-day events as midnight
  UTC with the end day stored inclusively;
- the window of ``calendars/{start}/{end}`` includes the whole end day;
- injected 500/502/503 faults answer like a reverse proxy would: an HTML page, no envelope;
- a TEXT value (SUMMARY, DESCRIPTION, LOCATION) is read up to its first unescaped ``,`` or
  ``;`` (RFC 5545 §3.3.11 requires both escaped), as a strict parser that takes the rest for
  a second value or a parameter would: the choice that hurts most if a client forgot to
  escape, since the text is then silently cut. The ICS as received is kept (``ics``) for
  tests that look at the wire.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar as ICalendar
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from reconciler.sandbox.base import ApiFailure, Emulator, Faults, json_body, json_response
from reconciler.sandbox.occurrences import occurrences

API = "/api/2.0"
DOMAIN = "sandbox.onlyoffice.example"
ALERTS = {"default": -1, "never": 0, "fiveminutes": 1, "fifteenminutes": 2, "halfhour": 3,
          "hour": 4, "twohours": 5, "day": 6}
ACTIONS = {
    "read": {"id": "read", "name": "Read only", "defaultAction": True, "defaultStyle": "read"},
    "full_access": {"id": "full_access", "name": "Full Access", "defaultAction": False,
                    "defaultStyle": "full"},
}
OWNER_ACTION = {"id": "owner", "name": "Owner", "defaultAction": False, "defaultStyle": ""}
ADMIN = "a0a0a0a0-0000-4000-8000-000000000001"
USERNAME, PASSWORD = "admin@sandbox.example", "sandbox-password"
RESPONSE_MONTHS = 3  # create/update answer occurrences over start .. start + 3 months


class OnlyOfficeEmulator(Emulator):
    name = "onlyoffice"

    def __init__(self, token: str, faults: Faults | None = None) -> None:
        super().__init__(token, faults)
        self.user = ADMIN
        self.directory: dict[str, dict[str, Any]] = {ADMIN: {"name": "Sandbox Admin",
                                                             "group": False}}
        self.calendars: dict[int, dict[str, Any]] = {}
        self.events: dict[int, dict[str, Any]] = {}
        self.next_id = 1
        self.tenant_zone = "Europe/Berlin"

    # -- shape ----------------------------------------------------------------------------
    def rules(self) -> Iterable[Rule]:
        c = f"{API}/calendar"
        return [
            Rule(f"{API}/authentication", endpoint="authenticate", methods=["POST"]),
            Rule(f"{c}/calendars/<start>/<end>", endpoint="list", methods=["GET"]),
            Rule(f"{c}/calendar/<int:cid>/<start>/<end>", endpoint="one_with_events",
                 methods=["GET"]),
            Rule(f"{c}/<int:cid>", endpoint="get", methods=["GET"]),
            Rule(f"{c}/<int:cid>/sharing", endpoint="sharing", methods=["GET"]),
            Rule(c, endpoint="create", methods=["POST"]),
            Rule(f"{c}/<int:cid>", endpoint="update", methods=["PUT"]),
            Rule(f"{c}/<int:cid>", endpoint="delete", methods=["DELETE"]),
            Rule(f"{c}/icsevent", endpoint="create_event", methods=["POST"]),
            Rule(f"{c}/icsevent", endpoint="update_event", methods=["PUT"]),
            Rule(f"{c}/events/<int:eid>", endpoint="delete_event", methods=["DELETE"]),
            Rule(f"{c}/events/<int:eid>/custom", endpoint="delete_custom", methods=["DELETE"]),
        ]

    def route_path(self, path: str) -> str:
        return path[: -len(".json")] if path.endswith(".json") else path

    def authorized(self, request: Request, endpoint: str) -> bool:
        return endpoint == "authenticate" or request.headers.get("Authorization") == self.token

    def error(self, status: int, message: str, code: str = "") -> Response:
        return json_response({"status": 1, "statusCode": status,
                              "error": {"message": message, "hresult": -2146233088,
                                        "data": {}}}, status)

    def injected(self, status: int) -> Response:
        if status == 429:
            return self.error(429, "Too many requests")
        page = f"<html><body><h1>{status} Bad Gateway</h1>nginx</body></html>"
        return Response(page, status=status, mimetype="text/html")

    def ok(self, result: Any, status: int = 200) -> Response:
        if result is None:
            result, count = {}, 0
        else:
            count = len(result) if isinstance(result, list) else 1
        return json_response({"count": count, "startIndex": 0, "status": 0,
                              "statusCode": status, "response": result}, status)

    # -- state ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"calendars": {str(k): v for k, v in self.calendars.items()},
                    "events": {str(k): v for k, v in self.events.items()},
                    "directory": self.directory, "next_id": self.next_id}

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.calendars = {int(k): v for k, v in data.get("calendars", {}).items()}
            self.events = {int(k): v for k, v in data.get("events", {}).items()}
            self.directory = dict(data.get("directory", self.directory))
            self.next_id = int(data.get("next_id", 1))

    def _new_id(self) -> int:
        value = self.next_id
        self.next_id += 1
        return value

    def add_principal(self, ident: str, name: str, group: bool = False) -> None:
        self.directory[ident] = {"name": name, "group": group}

    def add_calendar(self, title: str, *, owner: str = ADMIN, description: str = "",
                     sharing: list[dict[str, Any]] | None = None, zone: str = "Europe/Berlin",
                     alert: int = 2) -> int:
        """Seed or test helper: store a calendar as if the API had created it."""
        with self.lock:
            cid = self._new_id()
            self.calendars[cid] = {"id": cid, "owner": owner, "title": title,
                                   "description": description, "textColor": "#000000",
                                   "backgroundColor": "#87cefa", "timeZone": zone,
                                   "alertType": alert, "isHidden": False,
                                   "sharing": list(sharing or []), "views": {}}
            return cid

    def add_event(self, cid: int, uid: str, ics: str, *, alert: int = 0,
                  sharing: list[dict[str, Any]] | None = None) -> int:
        """Seed or test helper: store an event as POST icsevent with eventUid would."""
        with self.lock:
            event = self._upsert(cid, f"{uid}@{DOMAIN}", ics, alert, sharing or [])
            return int(event["id"])

    # -- helpers --------------------------------------------------------------------------
    def _calendar(self, cid: int) -> dict[str, Any]:
        calendar = self.calendars.get(cid)
        if calendar is None:
            raise ApiFailure(500, "Item not found")
        return calendar

    def _full_access(self, calendar: dict[str, Any]) -> bool:
        return calendar["owner"] == self.user or any(
            s["itemId"] == self.user and s["actionId"] == "full_access"
            for s in calendar["sharing"])

    def _readable(self, calendar: dict[str, Any]) -> bool:
        return calendar["owner"] == self.user or any(
            s["itemId"] == self.user or self.directory.get(s["itemId"], {}).get("group")
            for s in calendar["sharing"])

    def _zone(self, calendar: dict[str, Any]) -> ZoneInfo:
        return _zone(calendar["timeZone"])

    def _permissions(self, owner: str, sharing: list[dict[str, Any]]) -> dict[str, Any]:
        items = [{"id": owner, "name": self.directory.get(owner, {}).get("name", owner),
                  "isGroup": False, "canEdit": False, "selectedAction": OWNER_ACTION}]
        for share in sharing:
            entry = self.directory.get(share["itemId"], {})
            items.append({"id": share["itemId"], "name": entry.get("name", share["itemId"]),
                          "isGroup": bool(share["isGroup"]), "canEdit": True,
                          "selectedAction": ACTIONS[share["actionId"]]})
        return {"users": [], "data": {"actions": list(ACTIONS.values()), "items": items}}

    def _calendar_wrapper(self, calendar: dict[str, Any], window: tuple[dt.datetime, dt.datetime]
                          | None = None) -> dict[str, Any]:
        zone = self._zone(calendar)
        view = calendar["views"].get(self.user, {})
        events = []
        if window is not None:
            for event in self.events.values():
                if event["calendarId"] == calendar["id"]:
                    events.extend(self._occurrences(event, *window))
        offset = zone.utcoffset(dt.datetime.now())
        return {
            "objectId": str(calendar["id"]),
            "title": view.get("name", calendar["title"]),
            "description": calendar["description"],
            "textColor": view.get("textColor", calendar["textColor"]),
            "backgroundColor": view.get("backgroundColor", calendar["backgroundColor"]),
            "isSubscription": False, "iCalUrl": "", "isiCalStream": False,
            "isHidden": calendar["isHidden"], "canAlertModify": True,
            "isShared": bool(calendar["sharing"]),
            "permissions": self._permissions(calendar["owner"], calendar["sharing"]),
            "isEditable": self._full_access(calendar), "isTodo": 0,
            "owner": {"objectId": calendar["owner"],
                      "name": self.directory.get(calendar["owner"], {}).get("name", "")},
            "events": events, "todos": [],
            "defaultAlert": {"type": calendar["alertType"]},
            "timeZone": {"id": calendar["timeZone"], "name": calendar["timeZone"],
                         "offset": int(offset.total_seconds() // 60) if offset else 0},
            "canEditTimeZone": True,
        }

    def _occurrences(self, event: dict[str, Any], start: dt.datetime, end: dt.datetime
                     ) -> list[dict[str, Any]]:
        calendar = self.calendars[event["calendarId"]]
        first, last = _event_span(event)
        spans = occurrences(first, last, event["rrule"], start, end)
        exdates = set(event.get("exdates", []))
        result = []
        for begin, finish in spans:
            if begin.date().isoformat() in exdates:
                continue
            if event["allDay"]:
                begin_text = f"{begin.date().isoformat()}T00:00:00.0000000Z"
                last_day = (finish - dt.timedelta(days=1)).date()
                end_text = f"{max(last_day, begin.date()).isoformat()}T00:00:00.0000000Z"
            else:
                zone = self._zone(calendar)
                begin_text, end_text = _api_time(begin, zone), _api_time(finish, zone)
            result.append({
                "objectId": str(event["id"]), "uniqueId": event["uid"],
                "sourceId": str(event["calendarId"]), "title": event["title"],
                "description": event["description"], "start": begin_text, "end": end_text,
                "allDay": event["allDay"], "repeatRule": event["rrule"],
                "alert": {"type": event["alert"]}, "isShared": bool(event["sharing"]),
                "canUnsubscribe": False, "isEditable": self._full_access(calendar),
                "permissions": self._permissions(calendar["owner"], event["sharing"]),
                "owner": {"objectId": calendar["owner"],
                          "name": self.directory.get(calendar["owner"], {}).get("name", "")},
                "status": 0, "hasAttachments": False,
            })
        return result

    def _response_occurrences(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        first, _ = _event_span(event)
        return self._occurrences(event, first, first + dt.timedelta(days=31 * RESPONSE_MONTHS))

    def _upsert(self, cid: int, uid: str, ics: str, alert: int,
                sharing: list[dict[str, Any]], event_id: int | None = None) -> dict[str, Any]:
        calendar = self._calendar(cid)
        fields = _parse_ics(ics, self._zone(calendar))
        existing = next((e for e in self.events.values() if e["uid"] == uid), None)
        if event_id is not None:
            existing = self.events[event_id]
        if existing is None:
            existing = {"id": self._new_id(), "uid": uid, "exdates": []}
            self.events[existing["id"]] = existing
        existing.update(fields, calendarId=cid, alert=alert, sharing=sharing, ics=ics)
        return existing

    # -- handlers: auth and calendars -----------------------------------------------------
    def on_authenticate(self, request: Request) -> Response:
        body = _form_or_json(request)
        if body.get("userName") != USERNAME or body.get("password") != PASSWORD:
            raise ApiFailure(500, "User authentication failed")
        expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
        return self.ok({"token": self.token, "expires": expires}, 201)

    def on_list(self, request: Request, start: str, end: str) -> Response:
        window = _window(start, end)
        own = [c for c in self.calendars.values() if c["owner"] == self.user]
        if not own:  # the documented side effect of listing (§1.4)
            self.add_calendar("Default calendar", zone=self.tenant_zone, alert=2)
        result = [self._calendar_wrapper(c, window) for c in self.calendars.values()
                  if self._readable(c)]
        result.append(_external("shared_events", "Shared events"))
        result.append(_external("users_birthdays", "Birthdays"))
        return self.ok(result)

    def on_one_with_events(self, request: Request, cid: int, start: str, end: str) -> Response:
        calendar = self.calendars.get(cid)
        if calendar is None or not self._readable(calendar):
            return self.ok(None)
        return self.ok(self._calendar_wrapper(calendar, _window(start, end)))

    def on_get(self, request: Request, cid: int) -> Response:
        calendar = self.calendars.get(cid)
        if calendar is None or not self._readable(calendar):
            return self.ok(None)
        return self.ok(self._calendar_wrapper(calendar))

    def on_sharing(self, request: Request, cid: int) -> Response:
        calendar = self._calendar(cid)
        permissions = self._permissions(calendar["owner"], calendar["sharing"])
        return self.ok(permissions["data"])

    def on_create(self, request: Request) -> Response:
        body = _object(json_body(request))
        name = str(body.get("name") or "").strip()
        if not name:
            raise ApiFailure(500, "Name can't be empty")
        zone = str(body.get("timeZone") or self.tenant_zone)
        _zone(zone)
        cid = self.add_calendar(name, description=str(body.get("description") or ""),
                                sharing=_sharing(body.get("sharingOptions")), zone=zone,
                                alert=_alert(body.get("alertType"), -1))
        calendar = self.calendars[cid]
        for key in ("textColor", "backgroundColor"):
            if body.get(key):
                calendar[key] = body[key]
        return self.ok(self._calendar_wrapper(calendar), 201)

    def on_update(self, request: Request, cid: int) -> Response:
        calendar = self._calendar(cid)
        body = _object(json_body(request))
        name = str(body.get("name") or "").strip()
        if not name:
            raise ApiFailure(500, "Name can't be empty")
        if not self._full_access(calendar):
            # The silent downgrade (§1.9.2): only this user's view changes, and 200 comes back.
            calendar["views"][self.user] = {k: body[k] for k in ("textColor", "backgroundColor")
                                            if body.get(k)} | {"name": name}
            return self.ok(self._calendar_wrapper(calendar))
        if calendar["owner"] == self.user:
            calendar["title"] = name
            calendar["description"] = str(body.get("description") or "")
        else:  # a non-owner's name and description only change their own view
            calendar["views"][self.user] = {"name": name}
        for key in ("textColor", "backgroundColor"):
            calendar[key] = body.get(key) or calendar[key]
        if body.get("timeZone"):
            _zone(str(body["timeZone"]))
            calendar["timeZone"] = str(body["timeZone"])
        calendar["alertType"] = _alert(body.get("alertType"), calendar["alertType"])
        calendar["isHidden"] = bool(body.get("hideEvents", False))
        calendar["sharing"] = _sharing(body.get("sharingOptions"))  # omitted: cleared
        return self.ok(self._calendar_wrapper(calendar))

    def on_delete(self, request: Request, cid: int) -> Response:
        calendar = self._calendar(cid)
        if not self._full_access(calendar):
            raise ApiFailure(403, "Access Denied")
        del self.calendars[cid]
        for eid in [e for e, ev in self.events.items() if ev["calendarId"] == cid]:
            del self.events[eid]
        return self.ok(None)

    # -- handlers: events -----------------------------------------------------------------
    def on_create_event(self, request: Request) -> Response:
        body = _object(json_body(request))
        cid = _int(body.get("calendarId", 0), "calendarId")
        if cid <= 0:
            own = [c for c in self.calendars.values() if c["owner"] == self.user]
            cid = own[0]["id"] if own else 0
        calendar = self.calendars.get(cid)
        ics = body.get("ics")
        if calendar is None or not isinstance(ics, str):
            return self.ok(None, 201)  # a null result, as the server gives (§1.2)
        if not self._full_access(calendar):
            raise ApiFailure(403, "Access Denied")
        given = body.get("eventUid")
        uid = f"{given}@{DOMAIN}" if given else (_ics_uid(ics) or f"{uuid.uuid4()}@{DOMAIN}")
        try:
            event = self._upsert(cid, uid, ics, _alert(body.get("alertType"), -1),
                                 _sharing(body.get("sharingOptions")))
        except ValueError:
            return self.ok(None, 201)
        return self.ok(self._response_occurrences(event), 201)

    def on_update_event(self, request: Request) -> Response:
        body = _object(json_body(request))
        eid = _int(body.get("eventId"), "eventId")
        event = self.events.get(eid)
        if event is None:
            raise ApiFailure(500, "Item not found")
        if not self._full_access(self.calendars[event["calendarId"]]):
            raise ApiFailure(403, "Access Denied")
        target = str(body.get("calendarId", ""))
        cid = int(target) if target.isdigit() and int(target) in self.calendars \
            else event["calendarId"]
        ics = body.get("ics")
        if not isinstance(ics, str):
            return self.ok(None)
        try:
            self._upsert(cid, event["uid"], ics, _alert(body.get("alertType"), 0),
                         _sharing(body.get("sharingOptions")), event_id=eid)
        except ValueError:
            return self.ok(None)
        return self.ok(self._response_occurrences(event))

    def on_delete_event(self, request: Request, eid: int) -> Response:
        if eid not in self.events:
            raise ApiFailure(500, "Item not found")
        del self.events[eid]
        return self.ok(None)

    def on_delete_custom(self, request: Request, eid: int) -> Response:
        event = self.events.get(eid)
        if event is None:
            raise ApiFailure(500, "Item not found")
        body = _object(json_body(request) or {})
        kind = _int(body.get("type", 2), "type")
        if kind == 2 or not event["rrule"]:
            del self.events[eid]
            return self.ok(None)
        day = str(body.get("date", ""))[:10]
        try:
            when = dt.date.fromisoformat(day)
        except ValueError:
            raise ApiFailure(400, "date is required for type 0 and 1") from None
        if kind == 0:
            event["exdates"].append(when.isoformat())
        else:  # AllFollowing: the series ends before that day
            rule = [p for p in event["rrule"].split(";") if not p.startswith(("UNTIL", "COUNT"))]
            until = when - dt.timedelta(days=1)
            event["rrule"] = ";".join([*rule, f"UNTIL={until.strftime('%Y%m%d')}T235959Z"])
        return self.ok(self._response_occurrences(event))


# -- pure helpers ------------------------------------------------------------------------------
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(WINDOWS_TO_OLSON.get(name, name)))
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiFailure(500, f"unknown time zone {name}") from None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiFailure(400, "the body must be an object")
    return body


def _form_or_json(request: Request) -> dict[str, Any]:
    if request.mimetype == "application/json":
        return _object(json_body(request))
    return dict(request.form)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiFailure(400, f"{name} must be an integer") from None


def _alert(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, str) and value.lower() in ALERTS:
        return ALERTS[value.lower()]
    number = _int(value, "alertType")
    if not -1 <= number <= 6:
        raise ApiFailure(400, "alertType is out of range")
    return number


def _sharing(options: Any) -> list[dict[str, Any]]:
    if options is None:
        return []
    if not isinstance(options, list):
        raise ApiFailure(400, "sharingOptions must be a list")
    result = []
    for option in options:
        if not isinstance(option, dict) or not option.get("itemId"):
            continue  # the server skips empty entries, as the seed's "[{}]" example implies
        action = option.get("actionId", "read")
        if action not in ACTIONS:
            raise ApiFailure(400, f"unknown actionId {action}")
        result.append({"itemId": str(option["itemId"]), "isGroup": bool(option.get("isGroup")),
                       "actionId": action})
    return result


def _window(start: str, end: str) -> tuple[dt.datetime, dt.datetime]:
    def parse(text: str) -> dt.datetime:
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            raise ApiFailure(400, f"invalid date {text}") from None
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    return parse(start), parse(end) + dt.timedelta(days=1)


def _external(object_id: str, title: str) -> dict[str, Any]:
    return {"objectId": object_id, "title": title, "description": "", "isSubscription": True,
            "isiCalStream": False, "isEditable": False, "events": [], "todos": [],
            "permissions": {"users": [], "data": {"actions": [], "items": []}}}


def _ics_uid(ics: str) -> str | None:
    try:
        event = next(iter(ICalendar.from_ical(ics).walk("VEVENT")), None)
    except ValueError:
        return None
    return str(event.get("UID")) if event is not None and event.get("UID") else None


def _parse_ics(ics: str, calendar_zone: ZoneInfo) -> dict[str, Any]:
    """SUMMARY, DESCRIPTION, DTSTART, DTEND, RRULE of the first VEVENT (ValueError if none)."""
    events = ICalendar.from_ical(ics).walk("VEVENT")
    if not events:
        raise ValueError("no VEVENT")
    event = events[0]
    start = event.decoded("DTSTART")
    end = event.decoded("DTEND") if event.get("DTEND") else start
    rule = event.get("RRULE")
    rrule = rule.to_ical().decode() if rule is not None else ""
    texts = _strict_texts(ics)
    fields: dict[str, Any] = {"title": texts.get("SUMMARY", ""),
                              "description": texts.get("DESCRIPTION", ""), "rrule": rrule}
    if not isinstance(start, dt.datetime):
        last = end - dt.timedelta(days=1) if end > start else start  # stored inclusively
        fields.update(allDay=True, start=start.isoformat(), end=last.isoformat(), tzid=None)
        return fields
    zone = start.tzinfo if isinstance(start.tzinfo, ZoneInfo) else calendar_zone
    if start.tzinfo is None:  # floating: the calendar's zone (§1.9.7)
        start, end = start.replace(tzinfo=zone), end.replace(tzinfo=zone)
    elif rrule and (zone.key == "UTC" or not isinstance(start.tzinfo, ZoneInfo)):
        zone = calendar_zone  # a recurring UTC start moves to the calendar's zone (§1.9.7)
    start, end = start.astimezone(zone), end.astimezone(zone)
    fields.update(allDay=False, start=start.replace(tzinfo=None).isoformat(),
                  end=end.replace(tzinfo=None).isoformat(), tzid=zone.key)
    return fields


_TEXT_PROPERTIES = ("SUMMARY", "DESCRIPTION", "LOCATION")


def _strict_texts(ics: str) -> dict[str, str]:
    """The TEXT properties of the first VEVENT, each read strictly: up to its first
    unescaped ``,`` or ``;``, then unescaped (see the module docstring)."""
    unfolded = ics.replace("\r\n", "\n").replace("\n ", "").replace("\n\t", "")
    found: dict[str, str] = {}
    inside = False
    for line in unfolded.split("\n"):
        if line == "BEGIN:VEVENT":
            inside = True
        elif line == "END:VEVENT":
            break
        elif inside:
            name, value = _split_content_line(line)
            if name in _TEXT_PROPERTIES and name not in found:
                found[name] = _unescape_first(value)
    return found


def _split_content_line(line: str) -> tuple[str, str]:
    """(NAME, value) of a content line: the value starts at the first ``:`` outside a
    quoted parameter value (``ALTREP="http://..."``)."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == ":" and not quoted:
            return line[:index].split(";", 1)[0].upper(), line[index + 1:]
    return line.upper(), ""


def _unescape_first(value: str) -> str:
    """The first value of a TEXT property, its escapes undone."""
    out: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in ("n", "N") else nxt)
        elif char in ",;":
            break
        else:
            out.append(char)
    return "".join(out)


def _event_span(event: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    if event["allDay"]:
        first = dt.date.fromisoformat(event["start"])
        last = dt.date.fromisoformat(event["end"])
        utc = dt.timezone.utc
        return (dt.datetime(first.year, first.month, first.day, tzinfo=utc),
                dt.datetime(last.year, last.month, last.day, tzinfo=utc) + dt.timedelta(days=1))
    zone = ZoneInfo(event["tzid"])
    return (dt.datetime.fromisoformat(event["start"]).replace(tzinfo=zone),
            dt.datetime.fromisoformat(event["end"]).replace(tzinfo=zone))


def _api_time(value: dt.datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local.strftime('%Y-%m-%dT%H:%M:%S')}.0000000{offset[:3]}:{offset[3:]}"
