"""ONLYOFFICE calendar API emulator, after shared/providers.md §1 and §4.

Served at the portal root: ``/api/2.0/...``, every route also with a ``.json`` suffix.
Faithful to the traps the document lists: the envelope on every answer, 201 on POST, most
errors as HTTP 500 with a message, the raw (not Bearer) token, upsert by UID with an
``@domain`` suffix, event answers as occurrence lists, full-replace PUTs that clear omitted
sharing, the silent downgrade to a view update without full access, and the default calendar
that listing creates. Choices where it says NOT CONFIRMED:

- a failed login answers 500 "User authentication failed" (§1.1 infers the generic mapping);
- ``alertType`` accepts names or ints; a POST or PUT icsevent without one sets Never (0), the
  .NET default of the enum (providers.md O5), and a POST calendar without ``timeZone`` makes a
  UTC calendar (O5);
- ``calendarId`` of POST icsevent accepts an int or digits as text (lenient JSON binding);
- timed events are answered in the calendar's time zone offset; all-day events as midnight
  UTC with the end day stored inclusively;
- the window of ``calendars/{start}/{end}`` runs from midnight of the start date to midnight
  of the end date in the portal's zone, the end exclusive (O4);
- ``repeatRule`` is written as the server's ``RecurrenceRule.ToString()`` does (O1): lower
  case, UNTIL in UTC with ``Z``, and ``;exdates=...`` (UTC instants, or dates for an all-day
  series) once an occurrence is cancelled by ``DELETE events/{id}/custom`` or an EXDATE;
- ``events/{id}/historybyid`` answers ``mergedIcs``: the series as stored (DTSTART with its
  TZID, DTEND, RRULE, EXDATE), as ``GetEventHistoryWrapper`` does (CalendarApi.cs ~5212);
- POST icsevent with a known UID updates the event in place, in its old calendar, only when
  the caller owns the event and its calendar; otherwise it makes a second event with that
  UID (O2). PUT icsevent on a missing event answers 500 "Object reference not set to an
  instance of an object" (O9);
- calendars shared with the account are listed only once accepted (``PUT {id}/view``, O3);
- sharing ids that are not GUIDs answer 400 (O6); parameter names bind case-insensitively,
  from JSON or a form (O7); a null result comes back as ``response: {}`` with 200/201 (O8);
- injected 500/502/503 faults answer like a reverse proxy would: an HTML page, no envelope;
- a TEXT value (SUMMARY, DESCRIPTION, LOCATION) is read up to its first unescaped ``,`` or
  ``;`` (RFC 5545 §3.3.11 requires both escaped), as a strict parser that takes the rest for
  a second value or a parameter would: the choice that hurts most if a client forgot to
  escape, since the text is then silently cut. The ICS as received is kept (``ics``) for
  tests that look at the wire.
"""

from __future__ import annotations

import datetime as dt
import re
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
            Rule(f"{c}/events/<int:eid>/historybyid", endpoint="history", methods=["GET"]),
            Rule(f"{c}/<int:cid>/view", endpoint="view", methods=["PUT"]),
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

    def _listed(self, calendar: dict[str, Any]) -> bool:
        """O3: the listing shows a calendar shared with the user only once accepted."""
        return calendar["owner"] == self.user or (
            self._readable(calendar) and self.user in calendar.get("accepted", []))

    def accept(self, cid: int, user: str | None = None) -> None:
        """Test helper: ``user`` accepts a calendar shared with them (as ``PUT {id}/view``)."""
        with self.lock:
            accepted = self.calendars[cid].setdefault("accepted", [])
            if (user or self.user) not in accepted:
                accepted.append(user or self.user)

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
        rule = _repeat_rule(event)
        result = []
        for begin, finish in spans:
            if _exdate(begin, event["allDay"]) in exdates:
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
                "allDay": event["allDay"], "repeatRule": rule,
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
        """POST (``event_id`` None) or PUT icsevent. A POST finds an event by UID only among
        the caller's own events in the caller's own calendars (GetEventByUid, O2) and then
        updates it where it is: the posted calendar is ignored."""
        existing = None
        if event_id is not None:
            existing = self.events[event_id]
        else:
            existing = next((e for e in self.events.values() if e["uid"] == uid
                             and e.get("owner", ADMIN) == self.user
                             and self.calendars[e["calendarId"]]["owner"] == self.user), None)
            if existing is not None:
                cid = existing["calendarId"]
        calendar = self._calendar(cid)
        fields = _parse_ics(ics, self._zone(calendar))
        if existing is None:
            existing = {"id": self._new_id(), "uid": uid, "owner": self.user}
            self.events[existing["id"]] = existing
        existing.update(fields, calendarId=cid, alert=alert, sharing=sharing, ics=ics)
        return existing

    # -- handlers: auth and calendars -----------------------------------------------------
    def on_authenticate(self, request: Request) -> Response:
        body = _params(request)
        if body.get("userName") != USERNAME or body.get("password") != PASSWORD:
            raise ApiFailure(500, "User authentication failed")
        expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)).isoformat()
        return self.ok({"token": self.token, "expires": expires}, 201)

    def on_list(self, request: Request, start: str, end: str) -> Response:
        window = _window(start, end, ZoneInfo(self.tenant_zone))
        own = [c for c in self.calendars.values() if c["owner"] == self.user]
        if not own:  # the documented side effect of listing (§1.4)
            self.add_calendar("Default calendar", zone=self.tenant_zone, alert=2)
        result = [self._calendar_wrapper(c, window) for c in self.calendars.values()
                  if self._listed(c)]
        result.append(_external("shared_events", "Shared events"))
        result.append(_external("users_birthdays", "Birthdays"))
        return self.ok(result)

    def on_one_with_events(self, request: Request, cid: int, start: str, end: str) -> Response:
        calendar = self.calendars.get(cid)
        if calendar is None or not self._readable(calendar):
            return self.ok(None)
        return self.ok(self._calendar_wrapper(calendar, _window(start, end,
                                                                 ZoneInfo(self.tenant_zone))))

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
        body = _params(request)
        name = str(body.get("name") or "").strip()
        if not name:
            raise ApiFailure(500, "Name can't be empty")
        zone = str(body.get("timeZone") or "UTC")  # O5: omitted, the calendar is UTC
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
        body = _params(request)
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
        body = _params(request)
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
            event = self._upsert(cid, uid, ics, _alert(body.get("alertType"), 0),
                                 _sharing(body.get("sharingOptions")))
        except ValueError:
            return self.ok(None, 201)
        return self.ok(self._response_occurrences(event), 201)

    def on_update_event(self, request: Request) -> Response:
        body = _params(request)
        eid = _int(body.get("eventId"), "eventId")
        event = self.events.get(eid)
        if event is None:  # O9: dereferenced before the null check
            raise ApiFailure(500, "Object reference not set to an instance of an object.")
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

    def on_history(self, request: Request, eid: int) -> Response:
        event = self.events.get(eid)
        if event is None or not self._readable(self.calendars[event["calendarId"]]):
            return self.ok(None)
        return self.ok({"calendarId": event["calendarId"], "eventUid": event["uid"],
                        "eventId": event["id"], "mergedIcs": _merged_ics(event),
                        "canEdit": True, "canNotify": False,
                        "calendarName": self.calendars[event["calendarId"]]["title"]})

    def on_view(self, request: Request, cid: int) -> Response:
        calendar = self.calendars.get(cid)
        if calendar is None or not self._readable(calendar):
            raise ApiFailure(500, "Item not found")
        body = _params(request)
        view = calendar["views"].setdefault(self.user, {})
        for key in ("name", "textColor", "backgroundColor"):
            if body.get(key):
                view[key] = str(body.get(key))
        calendar.setdefault("accepted", [])
        if self.user not in calendar["accepted"]:
            calendar["accepted"].append(self.user)  # CalendarApi.cs ~1002: IsAccepted = true
        return self.ok(self._calendar_wrapper(calendar))

    def on_delete_custom(self, request: Request, eid: int) -> Response:
        event = self.events.get(eid)
        if event is None:
            raise ApiFailure(500, "Item not found")
        body = _params(request)
        kind = _int(body.get("type", 2), "type")
        if kind == 2 or not event["rrule"]:
            del self.events[eid]
            return self.ok(None)
        given = _api_date(body.get("date"))
        if given is None:
            raise ApiFailure(400, "date is required for type 0 and 1")
        # CalendarApi.cs ~4963: the date's UTC reading is taken as wall time in the event's
        # zone (ConvertTime(new DateTime(date.UtcTime.Ticks), eventTimeZone, Utc)).
        wall = given.astimezone(dt.timezone.utc).replace(tzinfo=None)
        zone = ZoneInfo(event["tzid"]) if event.get("tzid") else dt.timezone.utc
        when = wall.replace(tzinfo=dt.timezone.utc) if event["allDay"] else wall.replace(
            tzinfo=zone)
        if kind == 0:  # CalendarApi.cs ~4971: ExDates.Add, in UTC (a date when all-day)
            event.setdefault("exdates", []).append(_exdate(when, event["allDay"]))
        else:  # AllFollowing: the series ends with the last occurrence before that date
            first, last = _event_span(event)
            before = [b for b, _ in occurrences(first, last, event["rrule"], first, when)
                      if b < when]
            rule = [p for p in event["rrule"].split(";")
                    if not p.upper().startswith(("UNTIL", "COUNT"))]
            until = before[-1] if before else first - dt.timedelta(days=1)
            stamp = until.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            event["rrule"] = ";".join([*rule, f"UNTIL={stamp}"])
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


class _Params(dict[str, Any]):
    """Request parameters by case-insensitive name (O7: the binder tries several casings),
    nested objects too."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__({str(k).lower(): _lowered(v) for k, v in data.items()})

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return super().__contains__(str(key).lower())


def _lowered(value: Any) -> Any:
    if isinstance(value, dict):
        return _Params(value)
    if isinstance(value, list):
        return [_lowered(v) for v in value]
    return value


def _params(request: Request) -> _Params:
    """The body's parameters, JSON or form-encoded alike (O7); an empty body has none."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return _Params(dict(request.form))
    body = json_body(request)
    return _Params(_object(body) if body is not None else {})


_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def _exdate(moment: dt.datetime, all_day: bool) -> str:
    """An exception date as RecurrenceRule keeps it (O1): the UTC instant, or the date."""
    if all_day:
        return moment.strftime("%Y%m%d")
    return moment.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _repeat_rule(event: dict[str, Any]) -> str:
    """``RecurrenceRule.ToString()`` (O1): lower case, UNTIL in UTC, then the exdates."""
    if not event["rrule"]:
        return ""
    parts = []
    for part in event["rrule"].split(";"):
        key, _, value = part.partition("=")
        if key.upper() == "UNTIL":
            value = _utc_until(value, event)
        parts.append(f"{key.lower()}={value.lower()}")
    text = ";".join(parts)
    if event.get("exdates"):
        text += ";exdates=" + ",".join(event["exdates"])
    return text


def _utc_until(value: str, event: dict[str, Any]) -> str:
    """UNTIL as ``yyyyMMddTHHmmssZ``: a date is the end of that day in the event's zone, a
    floating time is read in it."""
    if value.upper().endswith("Z"):
        return value.upper()
    zone = ZoneInfo(event["tzid"]) if event.get("tzid") else dt.timezone.utc
    if len(value) == 8:
        moment = dt.datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59)
    else:
        moment = dt.datetime.strptime(value.upper(), "%Y%m%dT%H%M%S")
    return moment.replace(tzinfo=zone).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _api_date(value: Any) -> dt.datetime | None:
    """An ApiDateTime parameter as an aware instant (no offset: UTC); None when unreadable."""
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")[:32])
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _merged_ics(event: dict[str, Any]) -> str:
    """The series as the server's history keeps it: DTSTART with TZID, DTEND, RRULE (upper
    case, ``ToString(true)``), EXDATE in the event's zone."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:onlyoffice.com", "BEGIN:VEVENT",
             f"UID:{event['uid']}"]
    if event["allDay"]:
        first = dt.date.fromisoformat(event["start"])
        after = dt.date.fromisoformat(event["end"]) + dt.timedelta(days=1)
        lines += [f"DTSTART;VALUE=DATE:{first:%Y%m%d}", f"DTEND;VALUE=DATE:{after:%Y%m%d}"]
    else:
        start = dt.datetime.fromisoformat(event["start"])
        end = dt.datetime.fromisoformat(event["end"])
        lines += [f"DTSTART;TZID={event['tzid']}:{start:%Y%m%dT%H%M%S}",
                  f"DTEND;TZID={event['tzid']}:{end:%Y%m%dT%H%M%S}"]
    if event["rrule"]:
        rule = _repeat_rule({**event, "exdates": []}).upper()
        lines.append(f"RRULE:{rule}")
    for item in event.get("exdates") or []:
        if event["allDay"]:
            lines.append(f"EXDATE;VALUE=DATE:{item}")
        else:
            moment = dt.datetime.strptime(item, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
            lines.append(f"EXDATE;TZID={event['tzid']}:"
                         f"{moment.astimezone(ZoneInfo(event['tzid'])):%Y%m%dT%H%M%S}")
    summary = event["title"].replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    lines += [f"SUMMARY:{summary.replace(chr(10), chr(92) + 'n')}", "END:VEVENT",
              "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


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
        if not _GUID.match(str(option["itemId"])):  # O6: SharingParam.itemId is a Guid
            raise ApiFailure(400, f"itemId {option['itemId']} is not a GUID")
        if action not in ACTIONS:
            raise ApiFailure(400, f"unknown actionId {action}")
        result.append({"itemId": str(option["itemId"]), "isGroup": bool(option.get("isGroup")),
                       "actionId": action})
    return result


def _window(start: str, end: str, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """O4: a date without an offset is midnight in the portal's zone (ApiDateTime.Parse),
    and the end bound is exclusive: the end day itself is not covered."""
    def parse(text: str) -> dt.datetime:
        try:
            day = dt.date.fromisoformat(text[:10])
        except ValueError:
            raise ApiFailure(400, f"invalid date {text}") from None
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    return parse(start), parse(end)


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
    all_day = not isinstance(start, dt.datetime)
    # O1: an ICS carrying EXDATE sets the exception dates; a PUT without them has none.
    fields["exdates"] = sorted({_exdate(_as_instant(d, calendar_zone), all_day)
                                for d in _exdates_of(event)}) if rrule else []
    if all_day:
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


def _exdates_of(event: Any) -> list[dt.date | dt.datetime]:
    found = event.get("EXDATE")
    if found is None:
        return []
    values: list[dt.date | dt.datetime] = []
    for prop in found if isinstance(found, list) else [found]:
        values.extend(item.dt for item in prop.dts)
    return values


def _as_instant(value: dt.date | dt.datetime, zone: ZoneInfo) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    return value if value.tzinfo else value.replace(tzinfo=zone)


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
