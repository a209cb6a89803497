"""LINE WORKS HTTP calls. Raw dicts in and out; the only module that knows the routes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from reconciler.errors import ApiError, ResponseError, reading
from reconciler.http import Answer, HttpClient, RetryPolicy, decode_json
from reconciler.pacing import BudgetSpec, Deadline

PAGE_SIZE = 50  # the documented maximum of calendar-personals ``count``
RATE_LIMIT = 240  # requests per minute, per API and tenant (Standard plans; providers.md L5)
_COLLECTIONS = frozenset({"users", "calendars", "events", "calendar-personals"})


def api_of(method: str, path: str) -> str:
    """The API a request counts against: LINE WORKS budgets each API (a method on a route)
    separately, e.g. ``GET /calendars/*`` for every calendar read (providers.md L5)."""
    out: list[str] = []
    after_collection = False
    for part in path.split("?", 1)[0].strip("/").split("/"):
        out.append("*" if after_collection else part)
        after_collection = not after_collection and part in _COLLECTIONS
    return f"{method} /" + "/".join(out)


def error_detail(response: Answer) -> str:
    """``CODE: description`` from a ``{code, description}`` error body, else the raw text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("code" in body or "description" in body):
        return f"{body.get('code', '')}: {body.get('description', '')}".strip(": ")
    return " ".join(response.text.split())[:300] or response.reason_phrase


class LineWorksClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        policy: RetryPolicy | None = None,
        max_connections: int = 16,
        rate_limit: int | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.http = HttpClient(
            provider="lineworks",
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            secret=token,
            policy=policy,
            error_detail=error_detail,
            max_connections=max_connections,
            budgets=[BudgetSpec(rate_limit or RATE_LIMIT, 60.0, scope="api", probe=True)],
            api_of=api_of,
            deadline=deadline,
        )

    def close(self) -> None:
        self.http.close()

    def list_calendar_personals(self, user_id: str, address: str) -> Iterator[dict[str, Any]]:
        """Every ``calendarPersonals`` item, following ``responseMetaData.nextCursor``."""
        path = f"/users/{quote(user_id, safe='')}/calendar-personals"
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            params = {"count": str(PAGE_SIZE)}
            if cursor:
                params["cursor"] = cursor
            body = self._json("GET", path, address, params=params)
            items = body.get("calendarPersonals") if isinstance(body, dict) else None
            if not isinstance(items, list):
                with reading(address, "GET", path):
                    raise ResponseError("no 'calendarPersonals' list")
            yield from items
            meta = body.get("responseMetaData") or {}
            cursor = meta.get("nextCursor") if isinstance(meta, dict) else None
            if not cursor:
                return
            if cursor in seen:  # a server that loops would otherwise page forever
                raise ResponseError(f"{address}: GET {path}: the cursor repeats: {cursor}")
            seen.add(cursor)

    def get_calendar(self, calendar_id: str, address: str) -> dict[str, Any] | None:
        """The calendar's shared properties; None when the API answers 404."""
        return self._object_or_none(f"/calendars/{quote(calendar_id, safe='')}", address)

    def list_events(self, user_id: str, calendar_id: str, start: dt.datetime,
                    until: dt.datetime, address: str) -> list[dict[str, Any]]:
        """``events[]`` of one window; the API refuses windows over 31 days."""
        path = f"{events_path(user_id, calendar_id)}"
        params = {"fromDateTime": start.isoformat(timespec="seconds"),
                  "untilDateTime": until.isoformat(timespec="seconds")}
        body = self._json("GET", path, address, params=params)
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            with reading(address, "GET", path):
                raise ResponseError("no 'events' list")
        return events

    def get_event(self, user_id: str, calendar_id: str, event_id: str, address: str
                  ) -> dict[str, Any] | None:
        """One event (``{eventComponents}``); None when the API answers 404."""
        path = f"{events_path(user_id, calendar_id)}/{quote(event_id, safe='')}"
        return self._object_or_none(path, address)

    def _object_or_none(self, path: str, address: str) -> dict[str, Any] | None:
        """GET a JSON object; None when the API answers 404 (the resource does not exist)."""
        try:
            body = self._json("GET", path, address)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(body, dict):
            with reading(address, "GET", path):
                raise ResponseError("not a JSON object")
        return body

    def send(
        self,
        method: str,
        path: str,
        address: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> Any:
        response = self.http.request(
            method, path, address=address, json=body, params=params, idempotent=idempotent
        )
        return _decode(response, address, method, path)

    def _json(
        self, method: str, path: str, address: str, params: Mapping[str, str] | None = None
    ) -> Any:
        response = self.http.request(method, path, address=address, params=params)
        return _decode(response, address, method, path)


def events_path(user_id: str, calendar_id: str) -> str:
    """The events collection of a calendar; ``calendar_id`` may be a plan placeholder."""
    cal = calendar_id if calendar_id.startswith("${") else quote(calendar_id, safe="")
    return f"/users/{quote(user_id, safe='')}/calendars/{cal}/events"


def _decode(response: Answer, address: str, method: str, path: str) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    return decode_json(response, address, method, path)
