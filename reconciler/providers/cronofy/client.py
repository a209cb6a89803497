"""Cronofy HTTP calls: Bearer auth, paged event reads, error texts. Raw dicts in and out."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from reconciler.errors import ResponseError, reading
from reconciler.http import Answer, HttpClient, RetryPolicy, decode_json
from reconciler.pacing import BudgetSpec, Deadline
from reconciler.providers.cronofy import mapping

MAX_PAGES = 10_000  # a server whose next_page never ends would otherwise page forever


def error_detail(response: Answer) -> str:
    if response.status_code == 423:
        return "the profile needs re-authorisation (HTTP 423 Locked: no usable credentials)"
    try:
        detail = mapping.error_detail(response.json())
    except ValueError:
        detail = None
    return detail or " ".join(response.text.split())[:300] or response.reason_phrase


# Per application: 50 requests a second and 500 a minute (providers.md §0, rate limits).
PER_SECOND, PER_MINUTE = 50, 500


class CronofyClient:
    def __init__(self, base_url: str, token: str, policy: RetryPolicy | None = None,
                 max_connections: int = 16, rate_limit: int | None = None,
                 deadline: Deadline | None = None) -> None:
        self.http = HttpClient(provider="cronofy", base_url=base_url,
                               headers={"Authorization": f"Bearer {token}"}, secret=token,
                               policy=policy, error_detail=error_detail,
                               max_connections=max_connections,
                               budgets=[BudgetSpec(PER_SECOND, 1.0),
                                        BudgetSpec(rate_limit or PER_MINUTE, 60.0)],
                               deadline=deadline)

    def close(self) -> None:
        self.http.close()

    def list_calendars(self, address: str) -> list[dict[str, Any]]:
        body = self._json("GET", "/v1/calendars", address)
        calendars = body.get("calendars") if isinstance(body, dict) else None
        if not isinstance(calendars, list):
            with reading(address, "GET", "/v1/calendars"):
                raise ResponseError("no 'calendars' list")
        return calendars

    def read_events(self, params: Mapping[str, Any], address: str) -> Iterator[dict[str, Any]]:
        """Every event of ``GET /v1/events``, following ``pages.next_page`` (absolute URLs)."""
        body = self._json("GET", "/v1/events", address, params=params)
        for _ in range(MAX_PAGES):
            events = body.get("events") if isinstance(body, dict) else None
            if not isinstance(events, list):
                with reading(address, "GET", "/v1/events"):
                    raise ResponseError("no 'events' list")
            yield from events
            next_page = (body.get("pages") or {}).get("next_page")
            if not next_page:
                return
            body = self._json("GET", str(next_page), address)
        raise ResponseError(f"{address}: GET /v1/events: more than {MAX_PAGES} pages")

    def send(self, method: str, path: str, address: str, body: Any = None,
             idempotent: bool = True) -> Any:
        return self._json(method, path, address, body=body, idempotent=idempotent)

    def _json(self, method: str, path: str, address: str, *, params: Mapping[str, Any] | None
              = None, body: Any = None, idempotent: bool = True) -> Any:
        response = self.http.request(method, path, address=address, params=params, json=body,
                                     idempotent=idempotent)
        if response.status_code == 202 or not response.content:
            return None  # writes are queued: nothing to read back (providers.md §3.6.2)
        return decode_json(response, address, method, path)
