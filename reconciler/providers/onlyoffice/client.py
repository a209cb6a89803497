"""ONLYOFFICE HTTP calls: auth, the response envelope, error mapping. Raw dicts in and out.

Facts this module encodes (providers.md §1.1-1.2):

- the token goes raw in ``Authorization`` (no "Bearer"); with a user name and password it is
  fetched once from ``POST /api/2.0/authentication``;
- every answer is an envelope ``{status: 0|1, statusCode, response | error: {message}}``;
  ``response: {}`` from a null result means "nothing";
- most errors are HTTP 500 *with* an envelope message ("Item not found"): those are
  permanent and are not retried; a 500 without an envelope (a proxy, a crash) is temporary.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler import secrets
from reconciler.errors import ApiError, CredentialsError, ResponseError, reading
from reconciler.http import TEMPORARY_STATUSES, Answer, HttpClient, RetryPolicy, decode_json
from reconciler.pacing import BudgetSpec, Deadline
from reconciler.providers.onlyoffice.envelope import open_envelope

API = "/api/2.0"


def envelope_error(response: Answer) -> str | None:
    """The envelope's ``error.message``, or None when the body is not an error envelope."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        return str(message) if message is not None else ""
    return None


def error_detail(response: Answer) -> str:
    message = envelope_error(response)
    if message is not None:
        return message
    return " ".join(response.text.split())[:300] or response.reason_phrase


def is_temporary(response: Answer) -> bool:
    if response.status_code == 500:
        return envelope_error(response) is None
    return response.status_code in TEMPORARY_STATUSES


class OnlyOfficeClient:
    def __init__(self, base_url: str, *, token: str | None = None,
                 username: str | None = None, password: str | None = None,
                 policy: RetryPolicy | None = None, max_connections: int = 16,
                 budgets: Sequence[BudgetSpec] = (), deadline: Deadline | None = None) -> None:
        self._base_url = base_url
        self._policy = policy
        self._max_connections = max_connections
        self._budgets = budgets
        self._deadline = deadline
        self._username, self._password = username, password
        if password:
            secrets.register(password)
        self._lock = threading.Lock()  # held across the login request
        self._http: HttpClient | None = self._connect(token) if token else None

    def _connect(self, token: str) -> HttpClient:
        return HttpClient(provider="onlyoffice", base_url=self._base_url,
                          headers={"Authorization": token, "Accept": "application/json"},
                          secret=token, policy=self._policy, error_detail=error_detail,
                          temporary=is_temporary, max_connections=self._max_connections,
                          budgets=self._budgets, deadline=self._deadline)

    @property
    def http(self) -> HttpClient:
        """The authenticated connection; logs in with user name and password on first use."""
        with self._lock:
            if self._http is None:
                self._http = self._connect(self._login())
            return self._http

    def _login(self) -> str:
        anonymous = HttpClient(provider="onlyoffice", base_url=self._base_url, headers={},
                               policy=self._policy, error_detail=error_detail,
                               temporary=is_temporary, budgets=self._budgets,
                               deadline=self._deadline)
        try:
            body = {"userName": self._username, "password": self._password}
            # The body holds the password: it is never logged (http logs method, URL, status).
            response = anonymous.request("POST", f"{API}/authentication", address="onlyoffice",
                                         json=body)
        except ApiError as exc:
            # a wrong password is a 500 envelope, not a 401 (providers.md, authentication)
            raise CredentialsError(f"onlyoffice: login as {self._username!r} failed with HTTP "
                                   f"{exc.status}: {exc}", status=exc.status) from None
        finally:
            anonymous.close()
        token = unwrap(response, "onlyoffice", "POST", "/authentication")
        if not isinstance(token, dict) or not isinstance(token.get("token"), str):
            raise ResponseError("onlyoffice: the authentication answer has no token")
        return str(token["token"])

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def call(self, method: str, path: str, address: str, body: Any = None,
             params: Mapping[str, str] | None = None, idempotent: bool = True) -> Any:
        """Send a request (``path`` below the portal URL, e.g. ``/api/2.0/calendar/1``);
        return the envelope's ``response``, None for ``{}``."""
        response = self.http.request(method, path, address=address, json=body,
                                     params=params, idempotent=idempotent)
        return unwrap(response, address, method, path)


    def listing(self, path: str, address: str) -> list[Any] | None:
        """``GET calendar/calendars/{start}/{end}``: the calendars; None for ``{}``."""
        result = self.call("GET", path, address)
        if result is not None and not isinstance(result, list):
            with reading(address, "GET", path):
                raise ResponseError("the envelope's response is not a list")
        return result


def unwrap(response: Answer, address: str, method: str, path: str) -> Any:
    body = decode_json(response, address, method, path)
    return open_envelope(body, response.status_code, address, method, path)
