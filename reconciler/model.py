"""Pydantic models of the desired state: the YAML's meaning, and the source of schemas/*.json.

One YAML document (a file) holds any of two top-level mappings:

- ``providers``: name -> connection settings (type, credentials by env var name, base URL);
- ``calendars``: stable key -> calendar (provider name, identity, fields, members, events).

Files are merged by :mod:`reconciler.loader`; keys are unique across all files. Fields left out
of a calendar are *not managed*: calrecon leaves their live value alone. ``members``, when
present, is authoritative: a live member missing from it is revoked.

These models check what a single document can check (types, unknown fields, the principal of
a member). What depends on the provider (roles it can express, length limits) is checked by
:mod:`reconciler.validate` against the provider's declared capabilities.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from enum import Enum
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from reconciler.recurrence import normalize_rrule

SCHEMA_URL = "https://calrecon.dev/schemas/calrecon.schema.json"

Key = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
"""Provider names and calendar keys: lower-case, digits, ``-`` and ``_``; used in addresses."""

ENV_PREFIXES = ("LINEWORKS_", "ONLYOFFICE_", "CRONOFY_", "CALRECON_")
"""The only environment variables a YAML may name for credentials: those the workflow passes
to calrecon for the purpose. A YAML under review must not be able to point ``token_env`` at
another secret of the job (``GITHUB_TOKEN``, a cloud key) and have it sent as a token."""


def _credential_variable(name: str) -> str:
    if not name.startswith(ENV_PREFIXES):
        raise ValueError(
            f"{name!r} is not a variable calrecon reads credentials from: use a name that "
            f"starts with {', '.join(ENV_PREFIXES[:-1])} or {ENV_PREFIXES[-1]} (so that a "
            "pull request cannot send another secret of the job as a token)")
    return name


EnvVarName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$"),
                       AfterValidator(_credential_variable)]


def _api_url(value: str) -> str:
    """A base URL every request can be built on: http(s), a host, a port in range, no
    credentials, query or fragment (a path is kept: it prefixes every request's path)."""
    problem = url_problem(value)
    if problem:
        raise ValueError(f"{value!r} {problem}")
    return value


def url_problem(value: str) -> str:
    """Why ``value`` is not a usable base URL, "" when it is."""
    if any(c.isspace() or not c.isprintable() for c in value):
        return "contains white space or control characters"
    try:
        parts = urlsplit(value)
        port = parts.port
        httpx.URL(value)  # the parser every request goes through
    except (ValueError, httpx.InvalidURL) as exc:
        return f"is not a URL ({exc})"
    if parts.scheme.lower() not in ("https", "http"):
        return "must start with https:// (or http://)"
    if not parts.hostname:
        return "has no host"
    if port == 0:
        return "has port 0"
    if parts.username is not None or parts.password is not None:
        return ("must not hold a user name or password (credentials come from the "
                "environment variables the provider names)")
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return "must not have a query or a fragment"
    return ""


ApiUrl = Annotated[str, AfterValidator(_api_url)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Role(str, Enum):
    """One role vocabulary for every provider; each provider maps the ones it can express.

    - ``manage``: change the calendar itself and its events (LINE WORKS
      CALENDAR_EVENT_READ_WRITE);
    - ``write``: create and change events (LINE WORKS EVENT_READ_WRITE);
    - ``read``: see event details (LINE WORKS EVENT_READ);
    - ``free_busy``: see only when events are (LINE WORKS EVENT_READ_FREE_BUSY).
    """

    MANAGE = "manage"
    WRITE = "write"
    READ = "read"
    FREE_BUSY = "free_busy"


class PrincipalType(str, Enum):
    USER = "user"
    GROUP = "group"
    ORGUNIT = "orgunit"


class Member(_Strict):
    """A calendar member: exactly one of ``user``, ``group`` or ``orgunit``, plus a role."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "oneOf": [{"required": ["user"]}, {"required": ["group"]}, {"required": ["orgunit"]}]
        },
    )

    user: str | None = Field(default=None, min_length=1, description="User id or e-mail.")
    group: str | None = Field(default=None, min_length=1, description="Group id.")
    orgunit: str | None = Field(default=None, min_length=1, description="Organisation unit id.")
    role: Role

    @model_validator(mode="after")
    def _exactly_one_principal(self) -> Member:
        given = [t for t in PrincipalType if getattr(self, t.value) is not None]
        if len(given) != 1:
            raise ValueError("a member names exactly one of 'user', 'group' or 'orgunit'")
        return self

    @functools.cached_property
    def principal_type(self) -> PrincipalType:
        return next(t for t in PrincipalType if getattr(self, t.value) is not None)

    @functools.cached_property
    def principal_id(self) -> str:
        value = getattr(self, self.principal_type.value)
        assert isinstance(value, str)
        return normalize_principal_id(value)

    @functools.cached_property
    def principal(self) -> str:
        """The member's identity, ``type:id``: members are compared keyed by this."""
        return f"{self.principal_type.value}:{self.principal_id}"


GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def normalize_principal_id(value: str) -> str:
    """E-mail addresses and GUIDs compare case-insensitively; other ids are opaque."""
    value = value.strip()
    return value.lower() if "@" in value or GUID.match(value) else value


class Alert(str, Enum):
    """When to remind attendees before an event; one vocabulary for every provider."""

    NONE = "none"
    MIN_5 = "5m"
    MIN_15 = "15m"
    MIN_30 = "30m"
    HOUR_1 = "1h"
    HOUR_2 = "2h"
    DAY_1 = "1d"


FIRST_YEAR, LAST_YEAR = 1900, 2199


def in_years(value: dt.date | dt.datetime) -> dt.date | dt.datetime:
    """``value`` when its year is calendars are kept for; converting a date-time near the
    ends of Python's range into a zone would overflow, and no service's calendar needs it."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value.isoformat()} is outside the years calrecon manages "
                         f"({FIRST_YEAR} to {LAST_YEAR})")
    return value


class Event(_Strict):
    """An event, keyed in its calendar by a stable uid (the YAML key).

    Timed events give ``start`` and ``end`` as local date-times plus an IANA ``timezone``
    (an offset on the date-time is converted into that zone). All-day events give dates;
    their ``end`` is the last day *included* (default: ``start``, a one-day event).
    """

    event_uid: str | None = Field(
        default=None, min_length=1,
        description="Cronofy: edit this external event (one not created through the API) "
        "instead of managing an event of calrecon's own.",
    )
    summary: str = Field(min_length=1)
    description: str | None = Field(default=None, description="Left alone when omitted.")
    location: str | None = Field(default=None, description="Left alone when omitted.")
    start: dt.date | dt.datetime = Field(description="Local date-time, or a date (all-day).")
    end: dt.date | dt.datetime | None = Field(
        default=None, description="Timed: required. All-day: the last day included."
    )
    timezone: str | None = Field(default=None, description="IANA zone; required when timed.")
    recurrence: str | None = Field(
        default=None, description="An RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T000000Z"
        "; \"\" for an event that does not repeat. Left alone when omitted (a new event "
        "then does not repeat).",
    )
    skip: list[dt.date | dt.datetime] | None = Field(
        default=None, description="Cancelled occurrences of the series: dates, or date-times "
        "in the event's zone. Authoritative when present; when omitted, occurrences cancelled "
        "in the calendar are kept.",
    )
    alert: Alert | None = Field(default=None, description="Left alone when omitted.")
    sharing: list[Member] | None = Field(
        default=None, description="Per-event sharing (ONLYOFFICE); authoritative when present."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}' (use an IANA name such as "
                             "Europe/Berlin)") from None
        return value

    @field_validator("start", "end")
    @classmethod
    def _in_years(cls, value: dt.date | dt.datetime | None) -> dt.date | dt.datetime | None:
        return None if value is None else in_years(value)

    @field_validator("skip")
    @classmethod
    def _skips_in_years(cls, value: list[dt.date | dt.datetime] | None
                        ) -> list[dt.date | dt.datetime] | None:
        return None if value is None else [in_years(v) for v in value]

    @field_validator("recurrence")
    @classmethod
    def _valid_rrule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            return ""  # said explicitly: the event does not repeat
        return normalize_rrule(value)  # raises ValueError with the reason

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, dt.datetime)


EventKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=200)]
"""Event uids: used as the provider's event id or UID, so no spaces, ``@`` or ``/``."""


class State(str, Enum):
    PRESENT = "present"
    ABSENT = "absent"


class Safety(_Strict):
    """Guard rails (octoDNS-style): a plan that deletes or revokes more than
    ``max_delete_percent`` of a calendar's existing members or events, when it has at least
    ``min_existing`` of them, needs ``--force``. Emptying a member list always does."""

    max_delete_percent: float | None = Field(default=None, ge=0, le=100)
    min_existing: int | None = Field(default=None, ge=0)


class Calendar(_Strict):
    """A calendar. ``name`` is required: it identifies the calendar when ``id`` is not pinned."""

    provider: Key = Field(description="Name of an entry under 'providers'.")
    id: str | None = Field(
        default=None,
        min_length=1,
        description="The provider's calendar id. Pin it to rename a calendar safely.",
    )
    name: str = Field(min_length=1, description="Calendar name; identifies it when no id is set.")
    description: str | None = Field(default=None, description="Left alone when omitted.")
    public: bool | None = Field(default=None, description="Left alone when omitted.")
    members: list[Member] | None = Field(
        default=None,
        description="Authoritative when present: live members not listed are revoked.",
    )
    state: State = Field(
        default=State.PRESENT, description="'absent' deletes the calendar: the only way to."
    )
    events: dict[EventKey, Event] | None = Field(
        default=None, description="Events keyed by their stable uid."
    )
    safety: Safety | None = Field(default=None, description="Overrides the provider's guard rails.")
    @field_validator("id")
    @classmethod
    def _usable_id(cls, value: str | None) -> str | None:
        # The id goes into a request's path (/calendars/{id}): a '/', '?', '#' or '%' would
        # name another resource or none, '.' and '..' are path steps, and no provider's
        # calendar id has white space or control characters.
        if value is None:
            return None
        if value in (".", "..") or any(c in "/?#%\\" or c.isspace() or not c.isprintable()
                                       for c in value):
            raise ValueError(f"{value!r} is not a calendar id (ids have no white space, "
                             "control characters, '/', '?', '#', '%' or '\\'); copy it from "
                             "'calrecon import', or leave id out to match by name")
        return value

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        # ONLYOFFICE refuses a blank name (providers.md, POST calendar: "Name can't be
        # empty"), the LINE WORKS and Cronofy emulators do too, and a calendar without a
        # name could not be matched by one
        if not value.strip():
            raise ValueError("name is blank")
        return value

    prune: bool = Field(
        default=False,
        description="Delete live events that 'events' does not list (within the events' "
        "window). Otherwise they are left alone and counted in the plan.",
    )


class _Connection(_Strict):
    """What every provider's connection can set: its rate budget and its read timeout."""

    rate_limit: int | None = Field(
        default=None, ge=1, le=100_000,
        description="Requests per minute the client paces itself to (LINE WORKS: per API, "
        "240 by default, 60 on the Free plan; Cronofy: per application, 500; ONLYOFFICE: "
        "none by default).",
    )
    timeout: float | None = Field(
        default=None, gt=0, le=600,
        description="Seconds to wait for an answer before the request fails (--timeout "
        "overrides it; 15 by default).",
    )


class LineWorksProvider(_Connection):
    """A LINE WORKS tenant, reached with an OAuth access token (scope ``calendar``)."""

    type: Literal["lineworks"]
    token_env: EnvVarName = Field(
        default="LINEWORKS_TOKEN", description="Environment variable holding the access token."
    )
    base_url: ApiUrl = Field(
        default="https://www.worksapis.com/v1.0", description="API base URL (override for tests)."
    )
    user_id: str = Field(
        default="me", min_length=1, description="User whose calendar list is reconciled."
    )
    safety: Safety | None = Field(default=None, description="Guard rails for its calendars.")

    def credentials(self) -> str:
        """Where the credentials come from, for an error that says they were refused."""
        return (f"the access token in ${self.token_env} (it must be current and carry the "
                "'calendar' scope)")


class OnlyOfficeProvider(_Connection):
    """An ONLYOFFICE Workspace/Community Server portal.

    Authenticates with a token from ``token_env`` when that variable is set, else exchanges
    the user name and password from ``username_env`` / ``password_env`` for one.
    """

    type: Literal["onlyoffice"]
    base_url: ApiUrl = Field(description="Portal URL, e.g. https://office.example.com")
    token_env: EnvVarName = Field(default="ONLYOFFICE_TOKEN")
    username_env: EnvVarName = Field(default="ONLYOFFICE_USERNAME")
    password_env: EnvVarName = Field(default="ONLYOFFICE_PASSWORD")
    safety: Safety | None = Field(default=None, description="Guard rails for its calendars.")

    def credentials(self) -> str:
        """Where the credentials come from, for an error that says they were refused."""
        return (f"the token in ${self.token_env}, or (when that is unset) the user name and "
                f"password in ${self.username_env} and ${self.password_env}")


class CronofyProvider(_Connection):
    """A Cronofy account (one access token), in one data center."""

    type: Literal["cronofy"]
    token_env: EnvVarName = Field(default="CRONOFY_TOKEN")
    data_center: Literal["us", "au", "ca", "de", "sg", "uk"] = Field(
        default="us", description="Chooses the API host; tokens only work in their own."
    )
    base_url: ApiUrl | None = Field(default=None,
                                    description="Overrides the data center's URL.")
    profile_id: str | None = Field(
        default=None,
        description="The profile calendars are matched in and created in (needed to create).",
    )
    safety: Safety | None = Field(default=None, description="Guard rails for its calendars.")

    def credentials(self) -> str:
        """Where the credentials come from, for an error that says they were refused."""
        return (f"the token in ${self.token_env} (a token works only in the data center "
                f"that issued it; data_center is {self.data_center!r})")

    def api_url(self) -> str:
        if self.base_url:
            return self.base_url
        if self.data_center == "us":
            return "https://api.cronofy.com"
        return f"https://api-{self.data_center}.cronofy.com"


ProviderConfig = Annotated[LineWorksProvider | OnlyOfficeProvider | CronofyProvider,
                           Field(discriminator="type")]
PROVIDER_TYPES = ("lineworks", "onlyoffice", "cronofy")
"""Every provider type's settings, chosen by ``type``."""


class Document(_Strict):
    """One YAML file."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="calrecon desired state",
        json_schema_extra={"$id": SCHEMA_URL},
    )

    providers: dict[Key, ProviderConfig] = Field(default_factory=dict)
    calendars: dict[Key, Calendar] = Field(default_factory=dict)


class Desired(_Strict):
    """Every file merged: what the planner reconciles."""

    providers: dict[str, ProviderConfig]
    calendars: dict[str, Calendar]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one YAML document, as checked in at schemas/calrecon.schema.json."""
    schema = Document.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
