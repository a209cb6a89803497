"""What every provider offers the planner and apply, and what it declares it can express.

Pure: no HTTP here. The planner drives a provider in stages (list calendars, read the matched
ones) and asks it to translate canonical values into the exact requests apply will send.

Canonical calendar values are plain dicts with the keys of :data:`CALENDAR_FIELDS`:
``name`` (str), ``description`` (str, "" when none), ``public`` (bool) and ``members``
(``{"user:alice@example.com": "manage", ...}``: principal -> role, roles in the YAML
vocabulary). Desired values carry only the keys the YAML manages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from reconciler.model import PrincipalType, Role

CALENDAR_FIELDS = ("name", "description", "public", "members")


@dataclass(frozen=True)
class Capabilities:
    """What a provider can express; the loader rejects YAML that asks for more."""

    roles: frozenset[Role]
    principal_types: frozenset[PrincipalType]
    calendar_fields: frozenset[str]
    max_name_length: int | None = None
    max_description_length: int | None = None
    can_rename: bool = True
    can_delete_calendars: bool = True
    event_fields: frozenset[str] = frozenset()
    max_summary_length: int | None = None
    max_event_description_length: int | None = None
    max_location_length: int | None = None
    event_uid_scope: str = "calendar"  # "provider": one uid names one event in the account
    # list_calendars reads events over its window (ONLYOFFICE: one request returns
    # everything); the others ignore the window, so they can list before it is known.
    listing_uses_window: bool = False
    principal_ids: str = ""  # "guid": member and sharing ids must be GUIDs (ONLYOFFICE O6)
    utc_series: bool = True  # False: a series that repeats in UTC is stored in another zone
    trims_names: bool = False  # True: the service strips white space around a calendar name
    notes: Mapping[str, str] = field(default_factory=dict)

    def roles_in_order(self) -> list[Role]:
        """The expressible roles, strongest first (the YAML vocabulary's order)."""
        return [r for r in Role if r in self.roles]


@dataclass(frozen=True)
class LiveCalendarRef:
    """A calendar as the account's calendar list shows it: enough to match identity."""

    id: str
    name: str


@dataclass(frozen=True)
class LiveCalendar:
    """A calendar read from the provider.

    ``value`` is canonical; ``raw`` is the provider's own record, kept so that full-replace
    updates can carry the fields calrecon does not manage. ``blocked`` explains why this
    account cannot update the calendar ("" when it can).
    """

    id: str
    value: dict[str, Any]
    raw: Any = None
    blocked: str = ""


class LiveEvent(NamedTuple):
    """An event read from the provider: its uid, the provider's id, values, raw record.
    Immutable; a named tuple rather than a frozen dataclass because a plan makes one per live
    event, and a frozen dataclass takes about four times as long to make."""

    uid: str
    id: str
    value: dict[str, Any]
    raw: Any = None
    calendar: str = ""  # the live calendar's id when it is not the one read (account-wide
    #                    uids: the event is in another calendar of the account)


def placeholder(address: str) -> str:
    """The marker a planned request carries for the id of a calendar created earlier."""
    return "${" + address + "}"


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request apply will send, exactly: method, path below the base URL, body.

    Path and body may hold :func:`placeholder` markers for the id of a calendar that an
    earlier phase of the same apply creates; apply substitutes them before sending. Headers
    and tokens are never part of a planned request.
    """

    method: str
    path: str
    body: Any = None
    params: Mapping[str, str] | None = None
    idempotent: bool = True

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.params:
            data["params"] = dict(self.params)
        if self.body is not None:
            data["body"] = self.body
        return data


Window = tuple[dt.date, dt.date]


class Provider(Protocol):
    """A configured provider, bound to credentials and a base URL.

    The planner calls, in stages: :meth:`list_calendars`, :meth:`read_calendar` for each
    matched calendar, :meth:`read_events` for each calendar that manages events. Values are
    canonical (see the module docstring and :mod:`reconciler.events`); :meth:`event_value`
    projects a desired event onto what this provider can read back, so ``==`` is meaningful.
    """

    name: str
    capabilities: Capabilities

    def list_calendars(self, window: Window | None) -> list[LiveCalendarRef]:
        """Every calendar of the account that calrecon may match by id or name. ``window``
        covers every managed event of this provider (None when no calendar has events, or
        when ``capabilities.listing_uses_window`` is false)."""

    def read_calendar(self, calendar_id: str, address: str) -> LiveCalendar | None:
        """One calendar; None when the provider says it does not exist."""

    def read_events(self, calendar: LiveCalendar, address: str, window: Window,
                    desired: Mapping[str, dict[str, Any]], whole: bool = False
                    ) -> list[LiveEvent]:
        """Every event of the calendar that overlaps ``window``, once each, plus those of
        ``desired`` (uid -> canonical event) that the provider can find outside it. Without
        ``whole`` (a calendar that does not prune), a provider that reads in slices may
        leave out the slices of the window that hold no desired event."""

    def find_events(self, address: str, window: Window, uids: set[str]) -> list[LiveEvent]:
        """Where uids are account-wide (``event_uid_scope`` "provider"): the events of
        ``uids`` in any calendar of the account, each with its ``calendar``; [] otherwise."""

    def event_blocked(self, desired: dict[str, Any], live: LiveEvent | None) -> str:
        """Why the provider would refuse to bring ``live`` to ``desired`` ("" when it would
        not): the plan shows such a change as blocked and apply never sends it."""

    def event_value(self, desired: dict[str, Any], live: LiveEvent | None = None
                    ) -> dict[str, Any]:
        """A desired canonical event as this provider reads events back (``live``: the
        event it will update, for the fields the YAML leaves to it, such as the rule)."""

    def create_calendar(self, address: str, desired: dict[str, Any]) -> list[PlannedRequest]:
        """Requests that create a calendar with the desired canonical value."""

    def update_calendar(
        self, live: LiveCalendar, desired: dict[str, Any], changed: set[str]
    ) -> list[PlannedRequest]:
        """Requests that bring the calendar to ``desired``; ``changed`` names the fields."""

    def delete_calendar(self, live: LiveCalendar) -> list[PlannedRequest]:
        """Requests that delete the calendar."""

    def create_event(self, calendar_id: str, uid: str, desired: dict[str, Any]
                     ) -> list[PlannedRequest]:
        """Requests that create the event; ``calendar_id`` may be a placeholder."""

    def update_event(self, calendar_id: str, live: LiveEvent, desired: dict[str, Any],
                     changed: set[str]) -> list[PlannedRequest]:
        """Requests that bring the event to ``desired`` (canonical, not projected)."""

    def delete_event(self, calendar_id: str, live: LiveEvent) -> list[PlannedRequest]:
        """Requests that delete the event."""

    def send(self, request: PlannedRequest, address: str) -> Any:
        """Send one planned request; return the decoded response body (None when empty)."""

    def created_id(self, response: Any) -> str:
        """The new calendar's id, from the create response."""

    def close(self) -> None:
        """Release connections."""
