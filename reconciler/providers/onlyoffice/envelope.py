"""The ONLYOFFICE answer envelope: ``{status: 0|1, statusCode, response | error: {message}}``
(providers.md §1.2). Shared by every call (:mod:`~reconciler.providers.onlyoffice.client`) and
the listing's own decoder (:mod:`~reconciler.providers.onlyoffice.listing`)."""

from __future__ import annotations

from typing import Any

from reconciler.errors import ApiError, ResponseError


def open_envelope(body: Any, status: int, address: str, method: str, path: str) -> Any:
    """The envelope's ``response``, None for ``{}`` (nothing); a ResponseError when ``body``
    is not an envelope, an ApiError with the envelope's message when its status is not 0."""
    if not isinstance(body, dict) or "status" not in body:
        raise ResponseError(f"{address}: {method} {path} answered HTTP {status} with a body "
                            "that is not an ONLYOFFICE envelope", address=address,
                            method=method, path=path, status=status)
    if body.get("status") != 0:
        error = body.get("error")
        message = error.get("message", "no message") if isinstance(error, dict) \
            else "no message"
        raise ApiError(f"{address}: {method} {path} failed with HTTP {status} (envelope "
                       f"status {body.get('status')}): {message}", address=address,
                       method=method, path=path, status=status)
    result = body.get("response")
    return None if result == {} else result
