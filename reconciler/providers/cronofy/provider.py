"""The Cronofy provider: create-only calendars, managed events, external event edits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from reconciler.errors import PlanError, ResponseError, reading
from reconciler.events import search_window
from reconciler.http import RetryPolicy
from reconciler.model import CronofyProvider as Config
from reconciler.pacing import Deadline
from reconciler.providers.base import (
    Capabilities,
    LiveCalendar,
    LiveCalendarRef,
    LiveEvent,
    PlannedRequest,
    Window,
)
from reconciler.providers.cronofy import mapping
from reconciler.providers.cronofy.client import CronofyClient

READ_TZID = "Etc/UTC"  # tzid is required on reads (providers.md §3.6.8); times come back UTC


class CronofyProvider:
    capabilities: Capabilities = mapping.CAPABILITIES

    def __init__(self, name: str, config: Config, token: str, *, base_url: str | None = None,
                 policy: RetryPolicy | None = None, max_connections: int = 16,
                 deadline: Deadline | None = None) -> None:
        self.name = name
        self.config = config
        self.client = CronofyClient(base_url or config.api_url(), token, policy, max_connections,
                                    rate_limit=config.rate_limit, deadline=deadline)
        self._calendars: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.client.close()

    # -- reads ----------------------------------------------------------------------------
    def list_calendars(self, window: Window | None = None) -> list[LiveCalendarRef]:
        """The account's calendars, only those of ``profile_id`` when one is configured (names
        are unique per profile, so that is where a name identifies a calendar)."""
        refs = []
        for raw in self.client.list_calendars(self.name):
            if not isinstance(raw, dict) or not isinstance(raw.get("calendar_id"), str):
                with reading(self.name, "GET", "/v1/calendars"):
                    raise ResponseError(f"a calendar is malformed: {raw!r:.200}")
            if self.config.profile_id and raw.get("profile_id") != self.config.profile_id:
                continue
            self._calendars[raw["calendar_id"]] = raw
            refs.append(LiveCalendarRef(raw["calendar_id"], str(raw.get("calendar_name", ""))))
        return refs

    def read_calendar(self, calendar_id: str, address: str) -> LiveCalendar | None:
        raw = self._calendars.get(calendar_id)
        if raw is None:  # there is no single-calendar read: the list is the only source
            return None
        value = {"name": str(raw.get("calendar_name", ""))}
        return LiveCalendar(calendar_id, value, raw, mapping.calendar_blocked(raw))

    def read_events(self, calendar: LiveCalendar, address: str, window: Window,
                    desired: Mapping[str, dict[str, Any]], whole: bool = False
                    ) -> list[LiveEvent]:
        """Managed events of the window, plus the external events the YAML edits; one more
        read over a wide window when some desired events are missing (they may have moved;
        Cronofy documents no read by id)."""
        external = {d["event_uid"]: uid for uid, d in desired.items() if d.get("event_uid")}
        found = self._read(calendar.id, window, address, external)
        missing = desired.keys() - found.keys()
        if missing:
            wide = search_window(window)
            more = self._read(calendar.id, wide, address, external)
            found.update({uid: more[uid] for uid in missing if uid in more})
        return list(found.values())

    def _read(self, calendar_id: str, window: Window, address: str,
              external: Mapping[str, str]) -> dict[str, LiveEvent]:
        params = {"tzid": READ_TZID, "calendar_ids[]": [calendar_id],
                  "from": window[0].isoformat(),
                  "to": (window[1] + dt.timedelta(days=1)).isoformat(),
                  "include_managed": "true", "include_deleted": "true"}
        found: dict[str, LiveEvent] = {}
        with reading(address, "GET", "/v1/events"):
            for raw in self.client.read_events(params, address):
                if not isinstance(raw, dict) or raw.get("calendar_id") != calendar_id:
                    continue
                if raw.get("event_id"):
                    if raw.get("deleted"):
                        continue  # a deleted managed event is gone: an upsert recreates it
                    uid = str(raw["event_id"])
                elif raw.get("event_uid") in external:
                    uid = external[raw["event_uid"]]
                else:
                    continue  # other people's events are not calrecon's to manage or count
                value = mapping.event_to_canonical(raw, address)
                found[uid] = LiveEvent(uid, str(raw["event_uid"]), value, raw)
        return found

    def find_events(self, address: str, window: Window, uids: set[str]) -> list[LiveEvent]:
        return []  # event ids are per calendar here

    def event_blocked(self, desired: dict[str, Any], live: LiveEvent | None) -> str:
        event_uid = desired.get("event_uid")
        if not event_uid:
            return ""
        if live is None:
            return (f"external event {event_uid} was not found; Cronofy cannot create an "
                    "external event (an edit is not an upsert)")
        raw = live.raw or {}
        if raw.get("deleted"):
            return f"external event {event_uid} was deleted; Cronofy cannot recreate it"
        if raw.get("recurring"):
            return f"external event {event_uid} is recurring; Cronofy cannot edit recurring events"
        if not (raw.get("options") or {}).get("update"):
            return f"external event {event_uid} has options.update false: its calendar does " \
                   "not allow edits"
        return ""

    def event_value(self, desired: dict[str, Any], live: LiveEvent | None = None
                    ) -> dict[str, Any]:
        return mapping.project_event(desired)

    # -- writes ---------------------------------------------------------------------------
    def create_calendar(self, address: str, desired: dict[str, Any]) -> list[PlannedRequest]:
        if not self.config.profile_id:
            raise PlanError(f"{address}: creating a Cronofy calendar needs 'profile_id' on "
                            f"provider '{self.name}'")
        body = {"profile_id": self.config.profile_id, "name": desired["name"]}
        return [PlannedRequest("POST", "/v1/calendars", body, idempotent=False)]

    def update_calendar(self, live: LiveCalendar, desired: dict[str, Any], changed: set[str]
                        ) -> list[PlannedRequest]:
        raise PlanError(f"{self.name}: Cronofy calendars cannot be updated")  # planner blocks

    def delete_calendar(self, live: LiveCalendar) -> list[PlannedRequest]:
        raise PlanError(f"{self.name}: Cronofy calendars cannot be deleted")  # loader refuses

    def create_event(self, calendar_id: str, uid: str, desired: dict[str, Any]
                     ) -> list[PlannedRequest]:
        # An upsert keyed by event_id: safe to retry, never a twin.
        return [PlannedRequest("POST", self._events(calendar_id), mapping.event_body(uid, desired))]

    def update_event(self, calendar_id: str, live: LiveEvent, desired: dict[str, Any],
                     changed: set[str]) -> list[PlannedRequest]:
        # What happens to omitted fields is not documented (§3.6.6): send the whole event.
        merged = {**{k: v for k, v in live.value.items() if k in ("description", "location")},
                  **desired}
        return [PlannedRequest("POST", self._events(calendar_id),
                               mapping.event_body(live.uid, merged))]

    def delete_event(self, calendar_id: str, live: LiveEvent) -> list[PlannedRequest]:
        return [PlannedRequest("DELETE", self._events(calendar_id), {"event_id": live.uid})]

    def _events(self, calendar_id: str) -> str:
        cal = calendar_id if calendar_id.startswith("${") else quote(calendar_id, safe="")
        return f"/v1/calendars/{cal}/events"

    def send(self, request: PlannedRequest, address: str) -> Any:
        return self.client.send(request.method, request.path, address, request.body,
                                request.idempotent)

    def created_id(self, response: Any) -> str:
        calendar = response.get("calendar") if isinstance(response, dict) else None
        if not isinstance(calendar, dict) or not isinstance(calendar.get("calendar_id"), str):
            raise ResponseError(f"{self.name}: POST /v1/calendars answered without a calendar")
        return str(calendar["calendar_id"])
