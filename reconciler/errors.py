"""The one exception tree of calrecon.

::

    CalreconError                   anything calrecon reports to the user (exit 1)
    ├── ConfigError                 the desired state is invalid; carries every problem found
    ├── IdentityError               live state cannot be matched safely (ambiguous name, ...)
    ├── PlanError                   a plan cannot be made (e.g. refused by a capability)
    └── ProviderError               a provider call failed for good
        ├── ApiError                the API answered with an error status (after retries)
        ├── TransportError          no usable answer: connection refused/dropped, timeout
        └── ResponseError           the API answered 2xx with a body we cannot understand

Every message names where the problem is: ``file:line:col`` for desired state, the resource
address plus HTTP method, path and status for provider errors. No message ever contains a
token: messages are built from our own fields, never from request headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class CalreconError(Exception):
    """Base class: everything the CLI reports as an error and exits 1 for."""


@dataclass(frozen=True)
class Problem:
    """One problem in the desired state, located as precisely as the input allows."""

    file: str
    line: int  # 1-based; 0 when unknown
    col: int  # 1-based; 0 when unknown
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}: {self.message}"
        return f"{self.file}: {self.message}"


class ConfigError(CalreconError):
    """The desired state is invalid. Holds every problem found, in input order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class IdentityError(CalreconError):
    """Live state cannot be matched to the desired state without guessing."""


class PlanError(CalreconError):
    """A plan cannot be made as asked."""


class ProviderError(CalreconError):
    """A provider call failed for good (after any retries)."""

    def __init__(self, message: str, *, address: str = "", method: str = "", path: str = "",
                 status: int | None = None) -> None:
        self.address = address
        self.method = method
        self.path = path
        self.status = status
        super().__init__(message)


class ApiError(ProviderError):
    """The API answered with an error status."""


class CredentialsError(ApiError):
    """The provider refused the credentials: HTTP 401, or a failed login."""


class TransportError(ProviderError):
    """No usable HTTP answer: connection refused or dropped, or a timeout."""


class ResponseError(ProviderError):
    """A success status with a body that does not have the documented shape."""


@contextmanager
def reading(address: str, method: str, path: str, status: int = 200) -> Iterator[None]:
    """Within: a ResponseError that does not say which answer it is about gets the resource
    address, the request and the HTTP status of the answer, e.g. ``works.team: GET
    /calendars/c1 answered HTTP 200 with a body calrecon cannot use: no 'calendarName'``."""
    try:
        yield
    except ResponseError as exc:
        if exc.status is not None:
            raise
        detail = str(exc)
        for prefix in (f"{address}: ", f"{address.split('.')[0]}: "):
            detail = detail.removeprefix(prefix)
        raise ResponseError(f"{address}: {method} {path} answered HTTP {status} with a body "
                            f"calrecon cannot use: {detail}", address=address, method=method,
                            path=path, status=status) from None
