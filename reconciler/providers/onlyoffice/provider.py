"""The ONLYOFFICE provider: one listing request, canonical reads, full-replace writes."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

from reconciler.errors import ResponseError, reading
from reconciler.events import merged_skips, search_window
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
from reconciler.timezones import iana_zone

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
        self._uids: dict[str, tuple[str, str]] = {}  # uid -> (calendar id, title), listed
        self._wide: dict[str, tuple[str, str]] = {}  # the same over the search window
        self._searched: list[Any] | None = None
        self._search_lock = threading.Lock()

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
        raws = self._listing(window, self.name)
        refs = []
        with self._lock:
            self._listed_window = window
            for raw in raws:
                if not mapping.is_own_calendar(raw):
                    continue  # shared-events, birthdays, iCal streams (§1.9.6)
                self._listed[str(raw["objectId"])] = raw
                refs.append(LiveCalendarRef(str(raw["objectId"]), str(raw.get("title", ""))))
            self._index(raws, self._uids)
        return refs

    def _listing(self, window: Window, address: str) -> list[Any]:
        # O4: the end date is midnight in the portal's zone and exclusive: ask for the day
        # after the window's last one.
        path = f"{CAL}/calendars/{window[0]}/{window[1] + dt.timedelta(days=1)}"
        raws = self.client.listing(path, address)
        if raws is None:
            with reading(address, "GET", path):
                raise ResponseError("the envelope's response is not a list")
        return raws

    def _index(self, raws: list[Any], into: dict[str, tuple[str, str]]) -> None:
        """uid -> (calendar id, calendar title) of every event of the account's own
        calendars in a listing: UIDs are account-wide (O2), so an event one calendar's YAML
        asks for may live in another."""
        for raw in raws:
            if not mapping.is_own_calendar(raw):
                continue
            for event in raw.get("events") or []:
                if isinstance(event, dict):
                    uid = str(event.get("uniqueId") or "").split("@", 1)[0]
                    into.setdefault(uid, (str(raw["objectId"]), str(raw.get("title", ""))))

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
        """Events overlapping ``window``, then the desired uids it does not hold: looked up
        in every own calendar of the account (UIDs are account-wide, O2: an event found in
        another calendar comes back with that calendar's id, to be moved or refused), over
        the listing's window and, if still missing, once over
        :func:`~reconciler.events.search_window`. A desired series is read whole from the
        ICS the server keeps (``events/{id}/historybyid``): its occurrences in a window do
        not say where it starts, in which zone it repeats, or what it skips."""
        with self._lock:
            listed = self._listed_window
        raw = calendar.raw
        covered = (listed is not None and listed[0] <= window[0] and window[1] <= listed[1]
                   and calendar.id in self._listed)
        if not covered:
            raw = self._read_window(calendar.id, window, address)
        with reading(address, "GET", f"{CAL}/calendars"):
            found = mapping.events_to_canonical((raw or {}).get("events") or [], address)
        elsewhere: dict[str, str] = {}
        missing = desired.keys() - found.keys()
        if missing:
            for uid, (object_id, value, item, cid) in self._find(missing, window,
                                                                  address).items():
                found[uid] = (object_id, value, item)
                if cid != calendar.id:
                    elsewhere[uid] = cid
        zone = str(((calendar.raw or {}).get("timeZone") or {}).get("id") or "UTC")
        events = []
        for uid, (object_id, value, item) in found.items():
            if value["recurrence"] and uid in desired:
                history = self.client.call("GET", f"{CAL}/events/{object_id}/historybyid",
                                           f"{address}.events.{uid}")
                value = mapping.series_value(value, history, iana_zone(zone), address)
            elif value["recurrence"]:
                value = mapping.series_value(value, None, iana_zone(zone), address)
            else:
                value = mapping.single_value(value)
            events.append(LiveEvent(uid, object_id, value, item, elsewhere.get(uid, "")))
        return events

    def _find(self, uids: set[str], window: Window, address: str
              ) -> dict[str, tuple[str, dict[str, Any], Any, str]]:
        """The events of ``uids`` wherever they are in the account's own calendars:
        ``uid -> (objectId, value, raw, calendar id)``."""
        with self._lock:
            known = {uid: self._uids[uid] for uid in uids if uid in self._uids}
        if len(known) < len(uids):
            with self._search_lock:  # one wide listing per plan, whichever calendar asks
                if self._searched is None:
                    raws = self._listing(search_window(window), address)
                    wide: dict[str, tuple[str, str]] = {}
                    self._index(raws, wide)
                    with self._lock:
                        self._searched = raws
                        self._wide.update(wide)
        with self._lock:
            searched = self._searched
        with self._lock:
            for uid in uids - known.keys():
                if uid in self._wide:
                    known[uid] = self._wide[uid]
            sources = list(self._listed.values()) + list(searched or [])
        result: dict[str, tuple[str, dict[str, Any], Any, str]] = {}
        for uid, (cid, _title) in known.items():
            for source in sources:
                if str(source.get("objectId")) != cid:
                    continue
                mine = [e for e in source.get("events") or []
                        if str(e.get("uniqueId") or "").split("@", 1)[0] == uid]
                with reading(address, "GET", f"{CAL}/calendars"):
                    got = mapping.events_to_canonical(mine, address)
                if uid in got:
                    object_id, value, raw = got[uid]
                    result[uid] = (object_id, value, raw, cid)
                    break
        return result

    def find_events(self, address: str, window: Window, uids: set[str]) -> list[LiveEvent]:
        """The events of ``uids`` in the account's own calendars, wherever they are."""
        return [LiveEvent(uid, object_id, mapping.series_value(value, None, "UTC", address)
                          if value["recurrence"] else mapping.single_value(value), raw, cid)
                for uid, (object_id, value, raw, cid) in self._find(uids, window,
                                                                    address).items()]

    def calendar_title(self, calendar_id: str) -> str:
        """The listed title of one of the account's calendars ("" when not listed)."""
        with self._lock:
            raw = self._listed.get(calendar_id) or next(
                (r for r in self._searched or [] if str(r.get("objectId")) == calendar_id), {})
        return str(raw.get("title", ""))

    def _read_window(self, calendar_id: str, window: Window, address: str) -> Any:
        end = window[1] + dt.timedelta(days=1)  # O4: the end is exclusive
        return self.client.call("GET", f"{CAL}/calendar/{calendar_id}/{window[0]}/{end}",
                                address)

    def event_blocked(self, desired: dict[str, Any], live: LiveEvent | None) -> str:
        return ""

    def event_value(self, desired: dict[str, Any], live: LiveEvent | None = None
                    ) -> dict[str, Any]:
        return mapping.project_event(desired, live.value if live else None)

    # -- writes ---------------------------------------------------------------------------
    def create_calendar(self, address: str, desired: dict[str, Any]) -> list[PlannedRequest]:
        body = mapping.calendar_body(desired, None, None)
        # O5: an omitted timeZone makes the calendar UTC, an omitted alertType Never. Send
        # the zone the account's calendars share (the portal's, where the server made the
        # default calendar), else UTC, and "Default" for the alert.
        body["timeZone"] = self._account_zone()
        body["alertType"] = mapping.DEFAULT_ALERT
        return [PlannedRequest("POST", CAL, body, idempotent=False)]

    def _account_zone(self) -> str:
        with self._lock:
            zones = {str((raw.get("timeZone") or {}).get("id") or "")
                     for raw in self._listed.values()} - {""}
        return zones.pop() if len(zones) == 1 else "UTC"

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
        # A full replace: fields the YAML leaves alone are sent with their live values, the
        # rule among them, and the cancelled occurrences carried to the new series. The
        # event's own calendar id moves it there when it was found in another (§1.4).
        merged = {**{k: v for k, v in live.value.items() if k in ("description", "alert",
                                                                 "sharing", "recurrence")},
                  **desired}
        merged["skip"] = merged_skips(live.value, desired)
        body = mapping.event_body(calendar_id, live.uid, build_ics(live.uid, merged), merged,
                                  live.id)
        return [PlannedRequest("PUT", f"{CAL}/icsevent", body)]

    def delete_event(self, calendar_id: str, live: LiveEvent) -> list[PlannedRequest]:
        return [PlannedRequest("DELETE", f"{CAL}/events/{live.id}")]

    def send(self, request: PlannedRequest, address: str) -> Any:
        result = self.client.call(request.method, request.path, address, request.body,
                                  request.params, request.idempotent)
        if result is None and request.path.endswith("/icsevent"):
            # O8: the server answers 200/201 with a null result when the ICS does not parse
            # or the calendar is missing: nothing was written.
            with reading(address, request.method, request.path):
                raise ResponseError("the server answered with no result (null): the ICS "
                                    "was not accepted or the calendar is missing; nothing "
                                    "was written")
        return result

    def created_id(self, response: Any) -> str:
        if not isinstance(response, dict) or not str(response.get("objectId", "")).isdigit():
            raise ResponseError(f"{self.name}: POST calendar answered without an objectId")
        return str(response["objectId"])
