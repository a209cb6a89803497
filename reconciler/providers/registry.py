"""Builds configured providers from the desired state: credentials, base URLs, limits.

The only place that reads tokens from the environment. With ``sandbox`` endpoints given, every
provider is pointed at its emulator and uses the emulator's token instead: the first provider
of each type at that type's emulator, each further one at an emulator of its own
(:func:`sandbox_tenants`), so that two tenants of one service stay two.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from typing import Protocol

from reconciler import egress
from reconciler.errors import CalreconError
from reconciler.http import RetryPolicy
from reconciler.model import Desired
from reconciler.pacing import Deadline
from reconciler.providers.base import Provider


class SandboxEndpoint(Protocol):
    @property
    def base_url(self) -> str: ...

    @property
    def token(self) -> str: ...


def tenant_key(provider: str, provider_type: str) -> str:
    """The sandbox key of a further provider's own emulator (with a '/', which no type name
    has, so it cannot take a type's place)."""
    return f"{provider_type}/{provider}"


def sandbox_tenants(desired: Desired) -> dict[str, str]:
    """The sandbox emulators the desired state needs beyond one per type: tenant key ->
    type, for every provider after the first of its type (in the order the YAML defines
    them, so that adding a provider never moves an existing one to another emulator)."""
    seen: set[str] = set()
    tenants: dict[str, str] = {}
    for name, config in desired.providers.items():
        if config.type in seen:
            tenants[tenant_key(name, config.type)] = config.type
        seen.add(config.type)
    return tenants


def build_providers(
    desired: Desired,
    *,
    sandbox: Mapping[str, SandboxEndpoint] | None = None,
    policy: RetryPolicy | None = None,
    parallelism: int = 8,
    environ: Mapping[str, str] | None = None,
    names: Iterable[str] | None = None,
    deadline: Deadline | None = None,
    timeout: float | None = None,
) -> dict[str, Provider]:
    """One provider per configured name that a calendar uses (or per name in ``names``).
    ``timeout`` (``--timeout``) overrides each provider's own ``timeout``; ``deadline`` is
    shared by all of them (one end for the whole run)."""
    env = os.environ if environ is None else environ
    used = set(names) if names is not None else {c.provider for c in desired.calendars.values()}
    for started in (sandbox or {}).values():
        egress.allow_sandbox(started.base_url)
    if sandbox is None:  # every provider's address checked before any request to any of them
        for name in sorted(used):
            config = desired.providers[name]
            egress.check(name, config.api_url() if config.type == "cronofy" else config.base_url,
                         env)
    providers: dict[str, Provider] = {}
    missing: list[str] = []
    for name in sorted(used):
        config = desired.providers[name]
        endpoint = None
        if sandbox is not None:
            endpoint = sandbox.get(tenant_key(name, config.type), sandbox.get(config.type))
        username = password = ""
        if endpoint is not None:
            token, base_url = endpoint.token, endpoint.base_url
        else:
            token = env.get(config.token_env, "")
            base_url = config.api_url() if config.type == "cronofy" else config.base_url
            if config.type == "onlyoffice" and not token:
                username = env.get(config.username_env, "")
                password = env.get(config.password_env, "")
                if not (username and password):
                    missing.append(f"provider '{name}' (onlyoffice): set {config.token_env}, "
                                   f"or {config.username_env} and {config.password_env}")
                    continue
            elif not token:
                missing.append(f"provider '{name}' ({config.type}): environment variable "
                               f"{config.token_env} is not set")
                continue
        own = policy or RetryPolicy()
        wait = timeout or config.timeout  # --timeout, else the provider's own
        if wait:
            own = dataclasses.replace(own, timeout=wait)
        if config.type == "cronofy":
            from reconciler.providers.cronofy.provider import CronofyProvider

            providers[name] = CronofyProvider(name, config, token, base_url=base_url,
                                              policy=own, max_connections=parallelism,
                                              deadline=deadline)
        elif config.type == "onlyoffice":
            from reconciler.providers.onlyoffice.provider import OnlyOfficeProvider

            providers[name] = OnlyOfficeProvider(
                name, config, token=token or None, username=username or None,
                password=password or None, base_url=base_url, policy=own,
                max_connections=parallelism, deadline=deadline,
            )
        elif config.type == "lineworks":
            from reconciler.providers.lineworks.provider import LineWorksProvider

            providers[name] = LineWorksProvider(
                name, config, token, base_url=base_url, policy=own,
                max_connections=parallelism, deadline=deadline,
            )
    if missing:
        for provider in providers.values():
            provider.close()
        raise CalreconError("\n".join(missing) + "\n(or run with --sandbox to use the emulators)")
    return providers
