"""LINE WORKS API 2.0 calendar emulator, after shared/providers.md §2 and §4.

Served under ``/v1.0``. Choices where the reference says NOT CONFIRMED:

- ``GET /calendars/{id}`` answers the same shape as the PATCH response (§2.3, inferred there).
- ``DELETE /calendars/{id}`` answers 204 with no body (§2.3: "probably 204").
- ``PATCH`` with ``members`` replaces the whole member list (§2.7.1).
- Creating a calendar does not add its creator as a member: the member list is exactly what
  was sent. The creator's access comes from ownership, which the API does not expose.
- Error codes besides TOO_MANY_REQUESTS: INVALID_PARAMETER (400), UNAUTHORIZED (401),
  FORBIDDEN (403), RESOURCE_NOT_FOUND (404) (§2.6 does not confirm them).
- The rate budget is per operation (method + route), ``rate_limit`` requests per 60 s
  (240/min on Standard plans, §2.5); every answer carries ``rateLimit-limit``,
  ``rateLimit-remaining`` and ``rateLimit-reset``; an exceeded budget answers 429.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from reconciler.sandbox.base import ApiFailure, Emulator, Faults, json_body, json_response

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
        ]

    def authorized(self, request: Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def error(self, status: int, message: str, code: str = "") -> Response:
        codes = {400: "INVALID_PARAMETER", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
                 404: "RESOURCE_NOT_FOUND", 429: "TOO_MANY_REQUESTS"}
        if status == 429 and message == "injected fault":
            message = "API rate limit exceeded"
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
                    "default_calendar_id": self.default_calendar_id, "user_id": self.user_id}

    def restore(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.calendars = dict(data.get("calendars", {}))
            self.personals = list(data.get("personals", []))
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
