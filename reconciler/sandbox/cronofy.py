"""Cronofy API v1 emulator, after shared/providers.md §3 and §4.

Served at the root (``/v1/...``, as ``api.cronofy.com`` is), so an official SDK pointed at the
base URL works: Bearer auth, calendars with read-only/deleted flags, managed events keyed by
(calendar_id, event_id), external events keyed by event_uid with ``recurring`` and
``options``, upserts answered 202 with no body, deletes by event_id or event_uid, paged reads
with absolute ``next_page`` URLs, and 422/423 error bodies. Choices where the document says
NOT CONFIRMED:

- a page holds ``page_size`` events (25 by default);
- writes to a read-only or deleted calendar, and edits of a missing, deleted, recurring or
  ``options.update: false`` external event, answer 422 with ``errors`` naming the field;
- a write to a locked profile answers 423;
- an upsert replaces every field: an optional field left out is cleared (C1: the docs are
  silent; clearing is what loses data if a client leaves a field out to keep it). With
  ``omitted_kept`` set, a field left out keeps its value instead (the other reading), so that
  tests can show the client converges under both;
- an all-day event's ``end`` date is exclusive; a timed event is answered in UTC, or as
  ``{time, tzid}`` with ``localized_times``;
- query booleans are read case-insensitively ("true", "True", "1"), as SDKs send them;
- ``from``/``to`` dates are read in ``tzid``; an event is listed when it starts before ``to``
  and ends on or after ``from`` (C2: one ending exactly at ``from`` is in).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from reconciler.sandbox.base import ApiFailure, Emulator, Faults, json_body, json_response

ERROR_KEYS = {"required": "errors.required", "too_long": "errors.too_long",
              "invalid": "errors.invalid", "not_found": "errors.not_found",
              "not_editable": "errors.not_editable", "readonly": "errors.calendar_readonly",
              "duplicate": "errors.duplicate_calendar_name"}


class Invalid(ApiFailure):
    """A 422 naming a field: ``{errors: {field: [{key, description}]}}``."""

    def __init__(self, field: str, kind: str, description: str) -> None:
        super().__init__(422, description, kind)
        self.field = field


class CronofyEmulator(Emulator):
    name = "cronofy"

    def __init__(self, token: str, faults: Faults | None = None, *, page_size: int = 25) -> None:
        super().__init__(token, faults)
        self.page_size = page_size
        self.omitted_kept = False  # C1: see the module docstring
        self.profiles: dict[str, dict[str, Any]] = {}
        self.calendars: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}  # event_uid -> event
        self.pages: dict[str, tuple[list[dict[str, Any]], int, int]] = {}

    def rules(self) -> Iterable[Rule]:
        return [
            Rule("/v1/calendars", endpoint="list_calendars", methods=["GET"]),
            Rule("/v1/calendars", endpoint="create_calendar", methods=["POST"]),
            Rule("/v1/calendars/<calendar_id>/events", endpoint="upsert", methods=["POST"]),
            Rule("/v1/calendars/<calendar_id>/events", endpoint="delete", methods=["DELETE"]),
            Rule("/v1/events", endpoint="read_events", methods=["GET"]),
            Rule("/v1/events/pages/<page_id>", endpoint="page", methods=["GET"]),
            Rule("/v1/profiles", endpoint="list_profiles", methods=["GET"]),
        ]

    def authorized(self, request: Request, endpoint: str) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def error(self, status: int, message: str, code: str = "") -> Response:
        if status == 422:
            field = "request"
            return json_response({"errors": {field: [{"key": ERROR_KEYS.get(code, code),
                                                      "description": message}]}}, 422)
        return json_response({"message": message}, status)

    def failure(self, exc: ApiFailure) -> Response:
        if isinstance(exc, Invalid):
            return self._invalid(exc)
        return super().failure(exc)

    def _invalid(self, exc: Invalid) -> Response:
        return json_response({"errors": {exc.field: [{"key": ERROR_KEYS.get(exc.code, exc.code),
                                                      "description": exc.message}]}}, 422)

    # -- state ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"profiles": self.profiles, "calendars": self.calendars,
                    "events": self.events}

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.profiles = dict(data.get("profiles", {}))
            self.calendars = dict(data.get("calendars", {}))
            self.events = dict(data.get("events", {}))

    def add_profile(self, profile_id: str, name: str, provider: str = "google",
                    locked: bool = False) -> None:
        with self.lock:
            self.profiles[profile_id] = {"profile_id": profile_id, "profile_name": name,
                                         "provider_name": provider, "profile_connected": True,
                                         "locked": locked}

    def add_calendar(self, profile_id: str, name: str, *, readonly: bool = False,
                     deleted: bool = False, primary: bool = False,
                     calendar_id: str | None = None) -> str:
        """Seed or test helper: a calendar of ``profile_id``."""
        cid = calendar_id or f"cal_{secrets.token_hex(8)}"
        profile = self.profiles[profile_id]
        with self.lock:
            self.calendars[cid] = {
                "provider_name": profile["provider_name"], "profile_id": profile_id,
                "profile_name": profile["profile_name"], "calendar_id": cid,
                "calendar_name": name, "calendar_readonly": readonly,
                "calendar_deleted": deleted, "calendar_primary": primary,
                "calendar_integrated_conferencing_available": False,
                "calendar_attachments_available": False,
                "permission_level": "unrestricted",
            }
        return cid

    def add_external_event(self, calendar_id: str, event_uid: str, summary: str, start: str,
                           end: str, *, recurring: bool = False, update: bool = True,
                           delete: bool = True, deleted: bool = False, description: str = "",
                           location: str = "") -> None:
        """Seed or test helper: an event created outside the API, e.g. in Google Calendar."""
        with self.lock:
            self.events[event_uid] = self._event(
                calendar_id, event_uid, None, {"summary": summary, "description": description,
                                               "start": start, "end": end,
                                               "location": {"description": location}
                                               if location else None})
            self.events[event_uid].update(
                recurring=recurring, deleted=deleted,
                options={"delete": delete, "update": update,
                         "change_participation_status": True})

    def _event(self, calendar_id: str, event_uid: str, event_id: str | None,
               fields: dict[str, Any]) -> dict[str, Any]:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        event: dict[str, Any] = {"calendar_id": calendar_id, "event_uid": event_uid, "summary": "",
                 "description": "", "start": None, "end": None, "location": None,
                 "deleted": False, "created": now, "updated": now, "recurring": False,
                 "participation_status": "accepted", "transparency": "opaque",
                 "status": "confirmed", "categories": [], "attendees": [], "organizer": {},
                 "event_private": False,
                 "options": {"delete": True, "update": True,
                             "change_participation_status": False}}
        if event_id is not None:
            event["event_id"] = event_id
        event.update({k: v for k, v in fields.items() if k in event or k == "tzid"})
        return event

    # -- handlers -------------------------------------------------------------------------
    def on_list_profiles(self, request: Request) -> Response:
        return json_response({"profiles": [
            {k: v for k, v in p.items() if k != "locked"} for p in self.profiles.values()]})

    def on_list_calendars(self, request: Request) -> Response:
        return json_response({"calendars": list(self.calendars.values())})

    def on_create_calendar(self, request: Request) -> Response:
        body = _object(json_body(request))
        profile_id, name = body.get("profile_id"), body.get("name")
        if not isinstance(profile_id, str) or profile_id not in self.profiles:
            return self._invalid(Invalid("profile_id", "invalid", "unknown profile"))
        if not isinstance(name, str) or not name.strip():
            return self._invalid(Invalid("name", "required", "required"))
        if self.profiles[profile_id]["locked"]:
            raise ApiFailure(423, "the profile needs to be reauthorized")
        if any(c["profile_id"] == profile_id and c["calendar_name"] == name
               for c in self.calendars.values()):
            return self._invalid(Invalid("name", "duplicate", "A calendar with this name "
                                         "already exists and the provider does not allow "
                                         "duplicates"))
        cid = self.add_calendar(profile_id, name)
        return json_response({"calendar": self.calendars[cid]})

    def _writable(self, calendar_id: str) -> dict[str, Any] | Response:
        calendar = self.calendars.get(calendar_id)
        if calendar is None:
            raise ApiFailure(404, f"calendar not found: {calendar_id}")
        if calendar["calendar_readonly"] or calendar["calendar_deleted"]:
            return self._invalid(Invalid("calendar_id", "readonly",
                                         "the calendar is read-only or deleted"))
        if self.profiles[calendar["profile_id"]]["locked"]:
            raise ApiFailure(423, "the profile needs to be reauthorized")
        return calendar

    def on_upsert(self, request: Request, calendar_id: str) -> Response:
        calendar = self._writable(calendar_id)
        if isinstance(calendar, Response):
            return calendar
        body = _object(json_body(request))
        try:
            fields = _event_fields(body)
        except Invalid as exc:
            return self._invalid(exc)
        event_id = body.get("event_id")
        if event_id is not None:  # a managed event; event_id wins over event_uid (§3.6.4)
            current = next((e for e in self.events.values() if e.get("event_id") == event_id
                            and e["calendar_id"] == calendar_id and not e["deleted"]), None)
            if current is not None and self.omitted_kept:
                fields = {k: (current[k] if k not in body else v) for k, v in fields.items()}
            uid = current["event_uid"] if current else f"evt_managed_{secrets.token_hex(10)}"
            created = current["created"] if current else None
            self.events[uid] = self._event(calendar_id, uid, str(event_id), fields)
            if created:
                self.events[uid]["created"] = created
            return Response(status=202)
        event_uid = body.get("event_uid")
        if not isinstance(event_uid, str):
            return self._invalid(Invalid("event_id", "required", "required"))
        event = self.events.get(event_uid)
        if event is None or event["calendar_id"] != calendar_id or event["deleted"]:
            return self._invalid(Invalid("event_uid", "not_found", "no such event: an "
                                         "external event cannot be created or recreated"))
        if event["recurring"] or not event["options"]["update"]:
            return self._invalid(Invalid("event_uid", "not_editable",
                                         "this event cannot be edited"))
        if self.omitted_kept:
            fields = {k: v for k, v in fields.items() if k in body}
        event.update(fields)
        event["updated"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Response(status=202)

    def on_delete(self, request: Request, calendar_id: str) -> Response:
        calendar = self._writable(calendar_id)
        if isinstance(calendar, Response):
            return calendar
        body = _object(json_body(request))
        if body.get("event_id") is not None:
            for event in self.events.values():
                if event.get("event_id") == body["event_id"] and \
                        event["calendar_id"] == calendar_id:
                    event["deleted"] = True  # a new POST with this event_id recreates it
            return Response(status=202)
        external = self.events.get(str(body.get("event_uid")))
        if external is None or external["calendar_id"] != calendar_id:
            return self._invalid(Invalid("event_uid", "not_found", "no such event"))
        if external["recurring"] or not external["options"]["delete"]:
            return self._invalid(Invalid("event_uid", "not_editable",
                                         "this event cannot be deleted"))
        external["deleted"] = True
        return Response(status=202)

    def on_read_events(self, request: Request) -> Response:
        args = request.args
        tzid = args.get("tzid")
        if not tzid:
            return self._invalid(Invalid("tzid", "required", "required"))
        try:
            zone = ZoneInfo(tzid)
        except (ZoneInfoNotFoundError, ValueError):
            return self._invalid(Invalid("tzid", "invalid", f"unknown tzid {tzid}"))
        try:
            start = _bound(args.get("from"), zone)
            end = _bound(args.get("to"), zone)
        except ValueError:
            return self._invalid(Invalid("from", "invalid", "from and to must be dates or times"))
        only_managed = _flag(args.get("only_managed"))
        include_managed = only_managed or _flag(args.get("include_managed"))
        include_deleted = _flag(args.get("include_deleted"))
        localized = _flag(args.get("localized_times"))
        calendars = set(args.getlist("calendar_ids[]"))
        found = []
        for event in self.events.values():
            managed = "event_id" in event
            if (managed and not include_managed) or (only_managed and not managed):
                continue
            if event["deleted"] and not include_deleted:
                continue
            if calendars and event["calendar_id"] not in calendars:
                continue
            first, last = _span(event)
            if (start and last < start) or (end and first >= end):  # C2
                continue
            found.append(_output(event, localized, zone))
        return self._page(found, 1, request)

    def on_page(self, request: Request, page_id: str) -> Response:
        entry = self.pages.pop(page_id, None)
        if entry is None:
            raise ApiFailure(404, "page not found")
        remaining, current, _ = entry
        return self._page(remaining, current, request)

    def _page(self, events: list[dict[str, Any]], current: int, request: Request) -> Response:
        total = max(1, current + (len(events) - 1) // self.page_size) if events else current
        head, rest = events[: self.page_size], events[self.page_size:]
        pages: dict[str, Any] = {"current": current, "total": total}
        if rest:
            page_id = secrets.token_hex(8)
            self.pages[page_id] = (rest, current + 1, total)
            pages["next_page"] = f"{request.host_url.rstrip('/')}/v1/events/pages/{page_id}"
        return json_response({"pages": pages, "events": head})


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiFailure(400, "the body must be a JSON object")
    return body


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _event_fields(body: dict[str, Any]) -> dict[str, Any]:
    summary = body.get("summary")
    if not isinstance(summary, str) or not summary:
        raise Invalid("summary", "required", "required")
    if len(summary) > 1024:
        raise Invalid("summary", "too_long", "must be at most 1024 characters")
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 4096:
        raise Invalid("description", "too_long", "must be at most 4096 characters")
    for name in ("start", "end"):
        if body.get(name) is None:
            raise Invalid(name, "required", "required")
        try:
            _instant(body[name], body.get("tzid"))
        except (ValueError, TypeError, KeyError, ZoneInfoNotFoundError):
            raise Invalid(name, "invalid", "must be a date, a time or {time, tzid}") from None
    if _instant(body["end"], body.get("tzid")) < _instant(body["start"], body.get("tzid")):
        raise Invalid("end", "invalid", "must not be before start")
    location = body.get("location")
    if location is not None and not isinstance(location, dict):
        raise Invalid("location", "invalid", "must be an object with a description")
    return {"summary": summary, "description": description, "start": body["start"],
            "end": body["end"], "tzid": body.get("tzid"), "location": location}


def _instant(value: Any, tzid: str | None) -> dt.datetime:
    if isinstance(value, dict):
        value, tzid = value["time"], value.get("tzid", tzid)
    text = str(value)
    if len(text) == 10:
        day = dt.date.fromisoformat(text)
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tzid or "Etc/UTC"))
    return moment.astimezone(dt.timezone.utc)


def _span(event: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    return _instant(event["start"], event.get("tzid")), _instant(event["end"], event.get("tzid"))


def _bound(value: str | None, zone: ZoneInfo) -> dt.datetime | None:
    if not value:
        return None
    if len(value) == 10:
        day = dt.date.fromisoformat(value)
        return dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    return _instant(value, zone.key)


def _output(event: dict[str, Any], localized: bool, zone: ZoneInfo) -> dict[str, Any]:
    result = {k: v for k, v in event.items() if k != "tzid"}
    if result.get("location") is None:
        result.pop("location", None)
    for name in ("start", "end"):
        value = event[name]
        raw = value["time"] if isinstance(value, dict) else str(value)
        if len(raw) == 10:
            result[name] = raw
            continue
        moment = _instant(value, event.get("tzid"))
        if localized:
            tzid = value.get("tzid") if isinstance(value, dict) else event.get("tzid")
            local = moment.astimezone(ZoneInfo(tzid or zone.key))
            result[name] = {"time": local.isoformat(timespec="seconds"), "tzid": tzid or zone.key}
        else:
            result[name] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return result
