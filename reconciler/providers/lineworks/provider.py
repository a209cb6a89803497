"""The LINE WORKS provider: identity listing, canonical reads, and planned requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from reconciler.errors import ResponseError, reading
from reconciler.http import RetryPolicy
from reconciler.model import LineWorksProvider as Config
from reconciler.pacing import Deadline
from reconciler.providers.base import (
    Capabilities,
    LiveCalendar,
    LiveCalendarRef,
    LiveEvent,
    PlannedRequest,
    Window,
)
from reconciler.providers.lineworks import mapping
from reconciler.providers.lineworks.client import LineWorksClient, events_path

# providers.md L4: the events list refuses ranges over 31 days, and whether the count is
# inclusive is NOT CONFIRMED: 30 stays clear of it either way.
WINDOW_DAYS = 30
NO_NOTIFY = {"sendNotification": "false"}


class LineWorksProvider:
    capabilities: Capabilities = mapping.CAPABILITIES

    def __init__(
        self,
        name: str,
        config: Config,
        token: str,
        *,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        max_connections: int = 16,
        deadline: Deadline | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.client = LineWorksClient(
            base_url or config.base_url, token, policy, max_connections=max_connections,
            rate_limit=config.rate_limit, deadline=deadline,
        )

    def close(self) -> None:
        self.client.close()

    # -- reads ----------------------------------------------------------------------------
    def list_calendars(self, window: Window | None = None) -> list[LiveCalendarRef]:
        refs = []
        path = f"/users/{self.config.user_id}/calendar-personals"
        for item in self.client.list_calendar_personals(self.config.user_id, self.name):
            if not isinstance(item, dict) or not isinstance(item.get("calendarId"), str):
                with reading(self.name, "GET", path):
                    raise ResponseError(f"a calendarPersonals item is malformed: {item!r:.200}")
            refs.append(LiveCalendarRef(item["calendarId"], str(item.get("calendarName", ""))))
        return refs

    def read_calendar(self, calendar_id: str, address: str) -> LiveCalendar | None:
        raw = self.client.get_calendar(calendar_id, address)
        if raw is None:
            return None
        with reading(address, "GET", f"/calendars/{quote(calendar_id, safe='')}"):
            return LiveCalendar(calendar_id, mapping.calendar_to_canonical(raw, address), raw)

    def read_events(self, calendar: LiveCalendar, address: str, window: Window,
                    desired: Mapping[str, dict[str, Any]], whole: bool = False
                    ) -> list[LiveEvent]:
        """The window's events, read only in the 30-day slices that hold a desired event
        (every slice when ``whole``: a pruned calendar must see all it may delete), then a
        GET by id for each desired uid not among them: an event that moved in time is
        updated, never re-created (that POST would conflict)."""
        found: dict[str, LiveEvent] = {}
        for start, until in windows(window, None if whole else desired.values()):
            items = self.client.list_events(self.config.user_id, calendar.id, start, until,
                                            address)
            with reading(address, "GET", events_path(self.config.user_id, calendar.id)):
                for item in items:
                    uid, value, raw = mapping.event_to_canonical(item, address)
                    found.setdefault(uid, LiveEvent(uid, uid, value, raw))  # series span windows
        for uid in sorted(desired.keys() - found.keys()):
            one = self.client.get_event(self.config.user_id, calendar.id, uid,
                                        f"{address}.events.{uid}")
            if one is not None:
                _, value, raw = mapping.event_to_canonical(one, address)
                found[uid] = LiveEvent(uid, uid, value, raw)
        return list(found.values())

    def find_events(self, address: str, window: Window, uids: set[str]) -> list[LiveEvent]:
        return []  # event ids are per calendar here

    def event_blocked(self, desired: dict[str, Any], live: LiveEvent | None) -> str:
        return ""

    def event_value(self, desired: dict[str, Any], live: LiveEvent | None = None
                    ) -> dict[str, Any]:
        return desired  # LINE WORKS reads back wall time and zone: the canonical form itself

    # -- writes ---------------------------------------------------------------------------
    def create_calendar(self, address: str, desired: dict[str, Any]) -> list[PlannedRequest]:
        # Not idempotent: a retried POST could create a twin. See reconciler.http.
        return [PlannedRequest("POST", "/calendars", mapping.calendar_body(desired),
                               idempotent=False)]

    def update_calendar(
        self, live: LiveCalendar, desired: dict[str, Any], changed: set[str]
    ) -> list[PlannedRequest]:
        body = mapping.calendar_body(desired, changed)
        return [PlannedRequest("PATCH", f"/calendars/{quote(live.id, safe='')}", body)]

    def delete_calendar(self, live: LiveCalendar) -> list[PlannedRequest]:
        return [PlannedRequest("DELETE", f"/calendars/{quote(live.id, safe='')}")]

    def create_event(self, calendar_id: str, uid: str, desired: dict[str, Any]
                     ) -> list[PlannedRequest]:
        body = {"eventComponents": mapping.event_item(uid, desired), "sendNotification": False}
        # A retried create of a client-chosen eventId cannot make a twin: the id is taken.
        return [PlannedRequest("POST", events_path(self.config.user_id, calendar_id), body)]

    def update_event(self, calendar_id: str, live: LiveEvent, desired: dict[str, Any],
                     changed: set[str]) -> list[PlannedRequest]:
        # PUT is a full replace (providers.md §2.7.2, L1): send the live master, overlaid,
        # and the live exceptions as they are.
        body = {"eventComponents": mapping.event_item(live.uid, desired, (live.value, live.raw)),
                "sendNotification": False}
        return [PlannedRequest("PUT", self._event_path(calendar_id, live.id), body)]

    def delete_event(self, calendar_id: str, live: LiveEvent) -> list[PlannedRequest]:
        return [PlannedRequest("DELETE", self._event_path(calendar_id, live.id),
                               params=NO_NOTIFY)]

    def _event_path(self, calendar_id: str, event_id: str) -> str:
        return f"{events_path(self.config.user_id, calendar_id)}/{quote(event_id, safe='')}"

    def send(self, request: PlannedRequest, address: str) -> Any:
        return self.client.send(
            request.method, request.path, address, request.body, request.params,
            request.idempotent,
        )

    def created_id(self, response: Any) -> str:
        if not isinstance(response, dict) or not isinstance(response.get("calendarId"), str):
            raise ResponseError(f"{self.name}: POST /calendars answered without a calendarId")
        return str(response["calendarId"])


def windows(window: Window, events: Iterable[dict[str, Any]] | None = None
            ) -> list[tuple[dt.datetime, dt.datetime]]:
    """``window`` cut into consecutive ranges of ``WINDOW_DAYS`` days, as UTC date-times;
    with ``events`` (canonical), only the ranges that hold one of them (its dates, a day of
    margin each side for zones): a calendar whose events lie decades apart is read in a
    few requests, not in every month between them."""
    first, last = window
    utc = dt.timezone.utc
    origin = dt.datetime(first.year, first.month, first.day, tzinfo=utc)
    end = dt.datetime(last.year, last.month, last.day, tzinfo=utc) + dt.timedelta(days=1)
    step = dt.timedelta(days=WINDOW_DAYS)
    count = -(-(end - origin) // step)
    if events is None:
        wanted = set(range(count))
    else:
        wanted = set()
        for event in events:
            begin = dt.date.fromisoformat(event["start"][:10]) - dt.timedelta(days=1)
            finish = dt.date.fromisoformat(event["end"][:10]) + dt.timedelta(days=2)
            low = (dt.datetime(begin.year, begin.month, begin.day, tzinfo=utc) - origin) // step
            high = (dt.datetime(finish.year, finish.month, finish.day, tzinfo=utc)
                    - origin - dt.timedelta(microseconds=1)) // step
            wanted.update(range(max(0, low), min(count - 1, high) + 1))
    return [(origin + i * step, min(end, origin + (i + 1) * step)) for i in sorted(wanted)]
