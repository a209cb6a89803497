"""The ONLYOFFICE provider: one listing request, canonical reads, full-replace writes."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

from reconciler.errors import ResponseError, reading
from reconciler.events import search_window
from reconciler.http import RetryPolicy
from reconciler.model import OnlyOfficeProvider as Config
from reconciler.pacing import BudgetSpec, Deadline
from reconciler.providers.base import (
    Capabilities,
    LiveCalendar,
    LiveCalendarRef,
    LiveEvent,
    PlannedRequest,
    Window,
)
from reconciler.providers.onlyoffice import mapping
from reconciler.providers.onlyoffice.client import API, OnlyOfficeClient
from reconciler.providers.onlyoffice.ics import build_ics

CAL = f"{API}/calendar"
NOT_EDITABLE = ("this account cannot fully edit the calendar (isEditable is false); ONLYOFFICE "
                "would silently turn the update into a change of the account's own view")


class OnlyOfficeProvider:
    capabilities: Capabilities = mapping.CAPABILITIES

    def __init__(self, name: str, config: Config, *, token: str | None = None,
                 username: str | None = None, password: str | None = None,
                 base_url: str | None = None, policy: RetryPolicy | None = None,
                 max_connections: int = 16, deadline: Deadline | None = None) -> None:
        self.name = name
        self.config = config
        # ONLYOFFICE documents no rate limit; a portal behind a limiting proxy sets one.
        budgets = [BudgetSpec(config.rate_limit, 60.0)] if config.rate_limit else []
        self.client = OnlyOfficeClient(base_url or config.base_url, token=token,
                                       username=username, password=password, policy=policy,
                                       max_connections=max_connections, budgets=budgets,
                                       deadline=deadline)
        self._lock = threading.Lock()
        self._listed: dict[str, dict[str, Any]] = {}
        self._listed_window: Window | None = None

    def close(self) -> None:
        self.client.close()

    # -- reads ----------------------------------------------------------------------------
    def list_calendars(self, window: Window | None = None) -> list[LiveCalendarRef]:
        """``GET calendars/{start}/{end}``: every calendar with its sharing and the events in
        the window, in one request. The server creates a default calendar for an account that
        owns none (providers.md §1.9.4): a read with a side effect calrecon cannot avoid."""
        if window is None:
            today = dt.date.today()
            window = (today, today + dt.timedelta(days=1))
        path = f"{CAL}/calendars/{window[0]}/{window[1]}"
        raws = self.client.listing(path, self.name)
        if raws is None:
            with reading(self.name, "GET", path):
                raise ResponseError("the envelope's response is not a list")
        refs = []
        with self._lock:
            self._listed_window = window
            for raw in raws:
                if not mapping.is_own_calendar(raw):
                    continue  # shared-events, birthdays, iCal streams (§1.9.6)
                self._listed[str(raw["objectId"])] = raw
                refs.append(LiveCalendarRef(str(raw["objectId"]), str(raw.get("title", ""))))
        return refs

    def read_calendar(self, calendar_id: str, address: str) -> LiveCalendar | None:
        with self._lock:
            raw = self._listed.get(calendar_id)
        if raw is None:  # a pinned id the list did not show
            if not calendar_id.isdigit():
                return None
            raw = self.client.call("GET", f"{CAL}/{calendar_id}", address)
            if raw is None:  # null answer: missing or unreadable (§1.2)
                return None
        with reading(address, "GET", f"{CAL}/calendars"):
            value = mapping.calendar_to_canonical(raw, address)
        blocked = "" if raw.get("isEditable", True) else NOT_EDITABLE
        return LiveCalendar(calendar_id, value, raw, blocked)

    def read_events(self, calendar: LiveCalendar, address: str, window: Window,
                    desired: Mapping[str, dict[str, Any]], whole: bool = False
                    ) -> list[LiveEvent]:
        """Events overlapping ``window``; then, only if some desired uids are missing (new or
        moved events), one more read over :func:`~reconciler.events.search_window`, since ONLYOFFICE
        documents no read by UID. An event even further away is planned as a create; its
        POST icsevent with ``eventUid`` upserts by UID, so it is moved, never duplicated."""
        with self._lock:
            listed = self._listed_window
        raw = calendar.raw
        covered = (listed is not None and listed[0] <= window[0] and window[1] <= listed[1]
                   and calendar.id in self._listed)
        if not covered:
            raw = self._read_window(calendar.id, window, address)
        with reading(address, "GET", f"{CAL}/calendars"):
            found = mapping.events_to_canonical((raw or {}).get("events") or [], address)
        missing = desired.keys() - found.keys()
        if missing:
            wide = search_window(window)
            wider = self._read_window(calendar.id, wide, address)
            extra = mapping.events_to_canonical((wider or {}).get("events") or [], address)
            found.update({uid: extra[uid] for uid in missing if uid in extra})
        return [LiveEvent(uid, object_id, value, item)
                for uid, (object_id, value, item) in found.items()]

    def _read_window(self, calendar_id: str, window: Window, address: str) -> Any:
        return self.client.call("GET", f"{CAL}/calendar/{calendar_id}/{window[0]}/{window[1]}",
                                address)

    def event_blocked(self, desired: dict[str, Any], live: LiveEvent | None) -> str:
        return ""

    def event_value(self, desired: dict[str, Any]) -> dict[str, Any]:
        return mapping.project_event(desired)

    # -- writes ---------------------------------------------------------------------------
    def create_calendar(self, address: str, desired: dict[str, Any]) -> list[PlannedRequest]:
        body = mapping.calendar_body(desired, None, None)
        return [PlannedRequest("POST", CAL, body, idempotent=False)]

    def update_calendar(self, live: LiveCalendar, desired: dict[str, Any], changed: set[str]
                        ) -> list[PlannedRequest]:
        body = mapping.calendar_body(desired, live.raw, live.value)
        return [PlannedRequest("PUT", f"{CAL}/{live.id}", body)]

    def delete_calendar(self, live: LiveCalendar) -> list[PlannedRequest]:
        return [PlannedRequest("DELETE", f"{CAL}/{live.id}")]

    def create_event(self, calendar_id: str, uid: str, desired: dict[str, Any]
                     ) -> list[PlannedRequest]:
        # POST icsevent with eventUid is an upsert by UID: safe to retry, never a twin.
        body = mapping.event_body(calendar_id, uid, build_ics(uid, desired), desired, None)
        return [PlannedRequest("POST", f"{CAL}/icsevent", body)]

    def update_event(self, calendar_id: str, live: LiveEvent, desired: dict[str, Any],
                     changed: set[str]) -> list[PlannedRequest]:
        # A full replace: fields the YAML leaves alone are sent with their live values.
        merged = {**{k: v for k, v in live.value.items() if k in ("description", "alert",
                                                                 "sharing")}, **desired}
        body = mapping.event_body(calendar_id, live.uid, build_ics(live.uid, merged), merged,
                                  live.id)
        return [PlannedRequest("PUT", f"{CAL}/icsevent", body)]

    def delete_event(self, calendar_id: str, live: LiveEvent) -> list[PlannedRequest]:
        return [PlannedRequest("DELETE", f"{CAL}/events/{live.id}")]

    def send(self, request: PlannedRequest, address: str) -> Any:
        return self.client.call(request.method, request.path, address, request.body,
                                request.params, request.idempotent)

    def created_id(self, response: Any) -> str:
        if not isinstance(response, dict) or not str(response.get("objectId", "")).isdigit():
            raise ResponseError(f"{self.name}: POST calendar answered without an objectId")
        return str(response["objectId"])
