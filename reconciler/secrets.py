"""Keeps tokens out of everything calrecon writes.

Each credential is registered here as soon as it is read from the environment. Every log
record passes through :class:`RedactingFilter`, and every error message that could quote a
foreign string (an httpx exception, a response body) passes through :func:`redact`.
"""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_secrets: set[str] = set()

MASK = "[REDACTED]"


def register(secret: str) -> None:
    """Remember a secret so it is masked wherever it might be printed or logged."""
    if len(secret) >= 4:  # masking very short strings would mangle ordinary text
        with _lock:
            _secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``[REDACTED]``."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """A logging filter that masks registered secrets in the final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
