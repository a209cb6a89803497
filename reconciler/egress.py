"""Where requests may go: an allow-list of hosts set outside the YAML under review.

In CI the plan job runs on pull requests with the providers' tokens in its environment, and
the YAML under review says where requests go (``base_url``). With ``CALRECON_ALLOWED_HOSTS``
set (from a repository variable, which a pull request cannot change), a request to any other
host is refused before a connection is opened, naming the provider and the host, so a pull
request cannot send a token to an address of its choosing.

Contract:

- unset or empty: no restriction (a user's own machine);
- set: a comma- or space-separated list of ``host``, ``host:port`` or ``*.domain`` entries;
  a host is allowed when it matches one of them, or is a provider's documented default
  (:data:`DEFAULT_HOSTS`: LINE WORKS' and Cronofy's API hosts), or is one of the sandbox
  emulators this process started (:func:`allow_sandbox`). Any other address, loopback ones
  included, is refused;
- :func:`check` raises :class:`EgressRefused` (a :class:`~reconciler.errors.CalreconError`)
  and never touches the network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

import httpx

from reconciler.errors import CalreconError

ENV = "CALRECON_ALLOWED_HOSTS"
# The documented API hosts (providers.md §2 and §3): allowed without listing them.
DEFAULT_HOSTS = frozenset({"www.worksapis.com", "api.cronofy.com", "api-au.cronofy.com",
                           "api-ca.cronofy.com", "api-de.cronofy.com", "api-sg.cronofy.com",
                           "api-uk.cronofy.com"})

_lock = threading.Lock()
_sandbox: set[tuple[str, int]] = set()


class EgressRefused(CalreconError):
    """A request to a host outside the allow-list."""


def allow_sandbox(base_url: str) -> None:
    """Allow the sandbox emulator this process started at ``base_url`` (host and port)."""
    url = httpx.URL(base_url)
    with _lock:
        _sandbox.add((url.host, url.port or _default_port(url.scheme)))


def check(provider: str, url: str | httpx.URL, environ: Mapping[str, str] | None = None
          ) -> None:
    """Raise :class:`EgressRefused` when ``url``'s host is not allowed (see the module
    docstring); do nothing when no allow-list is set."""
    listed = (os.environ if environ is None else environ).get(ENV, "")
    entries = [e.strip().lower() for e in listed.replace(",", " ").split() if e.strip()]
    if not entries:
        return
    parsed = httpx.URL(url)
    host, port = parsed.host.lower(), parsed.port or _default_port(parsed.scheme)
    with _lock:
        if (host, port) in _sandbox:
            return
    if host in DEFAULT_HOSTS and parsed.scheme == "https":
        return
    for entry in entries:
        name, _, wanted_port = entry.partition(":")
        if wanted_port and wanted_port != str(port):
            continue
        if name == host or (name.startswith("*.") and host.endswith(name[1:])):
            return
    raise EgressRefused(
        f"provider '{provider}': requests to {host}:{port} are not allowed: the host is not "
        f"in {ENV} ({listed.strip()}). Nothing was sent to it. If this host is right, add it "
        "to the variable where the repository sets it, outside the YAML under review.")


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80
