"""The LINE WORKS provider: identity listing, canonical reads, and planned requests."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reconciler.errors import ResponseError
from reconciler.http import RetryPolicy
from reconciler.model import LineWorksProvider as Config
from reconciler.providers.base import Capabilities, LiveCalendarRef, PlannedRequest
from reconciler.providers.lineworks import mapping
from reconciler.providers.lineworks.client import LineWorksClient


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
    ) -> None:
        self.name = name
        self.config = config
        self.client = LineWorksClient(
            base_url or config.base_url, token, policy, max_connections=max_connections
        )

    def close(self) -> None:
        self.client.close()

    def list_calendars(self) -> list[LiveCalendarRef]:
        refs = []
        for item in self.client.list_calendar_personals(self.config.user_id, self.name):
            if not isinstance(item, dict) or not isinstance(item.get("calendarId"), str):
                raise ResponseError(f"{self.name}: calendar-personals item is malformed: "
                                    f"{item!r:.200}")
            refs.append(LiveCalendarRef(item["calendarId"], str(item.get("calendarName", ""))))
        return refs

    def read_calendar(self, calendar_id: str, address: str) -> dict[str, Any] | None:
        raw = self.client.get_calendar(calendar_id, address)
        return None if raw is None else mapping.calendar_to_canonical(raw, address)

    def create_calendar(self, address: str, desired: dict[str, Any]) -> list[PlannedRequest]:
        # Not idempotent: a retried POST could create a twin. See reconciler.http.
        return [PlannedRequest("POST", "/calendars", mapping.calendar_body(desired),
                               idempotent=False)]

    def update_calendar(
        self, calendar_id: str, desired: dict[str, Any], changed: set[str]
    ) -> list[PlannedRequest]:
        body = mapping.calendar_body(desired, changed)
        return [PlannedRequest("PATCH", f"/calendars/{quote(calendar_id, safe='')}", body)]

    def delete_calendar(self, calendar_id: str) -> list[PlannedRequest]:
        return [PlannedRequest("DELETE", f"/calendars/{quote(calendar_id, safe='')}")]

    def send(self, request: PlannedRequest, address: str) -> Any:
        return self.client.send(
            request.method, request.path, address, request.body, request.params,
            request.idempotent,
        )

    def created_id(self, response: Any) -> str:
        if not isinstance(response, dict) or not isinstance(response.get("calendarId"), str):
            raise ResponseError(f"{self.name}: POST /calendars answered without a calendarId")
        return str(response["calendarId"])
