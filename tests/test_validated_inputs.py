"""Whatever validate accepts, plan and apply either do or refuse with a clear error: searched
with hypothesis over the wire to the emulators, with values at and beyond each field's limits.

For calendars (names, descriptions, members and their ids, pinned ids) of every provider:
load; if the YAML is refused, every problem is located; if it is accepted, plan, apply and
plan again must converge, or stop with a calrecon error naming the resource. An apply the
provider refuses (a 4xx or 5xx answer) is a rule validate should have known, and fails the
test. For base URLs: an accepted URL is one every request can be built on (the egress check
refuses it by name, before any connection, when the host is not allowed).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reconciler.apply import apply_plan
from reconciler.egress import EgressRefused
from reconciler.errors import ApiError, CalreconError, ConfigError
from reconciler.loader import load
from reconciler.planner import make_plan
from reconciler.providers.registry import build_providers
from reconciler.sandbox.server import Sandbox
from tests.conftest import FAST_RETRIES

GUIDS = ["11111111-0000-4000-8000-000000000001", "22222222-0000-4000-8000-00000000000A",
         "99999999-0000-4000-8000-000000000009"]
PIECES = [*"ab Z9,;\\:\"'#/?%&.<>", " ", "\t", "\r", "\n", "\r\n", "é", "😀", "𝄞", "\x00",
          "\x7f", "\u200b", "\ufeff", "\u2028"]
TEXT = st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join)
LONG = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "😀"]),
                 st.sampled_from([49, 50, 51, 255, 256, 1000, 1001]))
NAMES = st.one_of(TEXT, LONG)
IDS = st.one_of(st.sampled_from(["alice@example.com", "ALICE@Example.COM", " bob@example.com ",
                                 "user-1", "grp_2", "o/1", "..", ".", "a?b", "a#b", "%2F",
                                 "ü@example.com", *GUIDS, GUIDS[0].upper()]), TEXT)
ROLES = ["manage", "write", "read", "free_busy"]
KINDS = ["user", "group", "orgunit"]
PROVIDERS = {
    "works": "  works: {type: lineworks, rate_limit: 100000}\n",
    "office": "  office: {type: onlyoffice, base_url: 'https://office.example.com'}\n",
    "people": "  people: {type: cronofy, profile_id: pro_test, rate_limit: 100000}\n",
}
# What each provider takes (validate's rules), so that most examples get past validate and
# reach the provider; one in five draws from everything instead, to keep validate searched.
TAKES: dict[str, dict[str, Any]] = {
    "works": {"kinds": KINDS, "roles": ROLES, "ids": IDS,
              "fields": ("description", "public", "members")},
    "office": {"kinds": ["user", "group"], "roles": ["manage", "read"],
               "ids": st.sampled_from([*GUIDS, GUIDS[0].upper(), f" {GUIDS[1]} "]),
               "fields": ("description", "members")},
    "people": {"kinds": KINDS, "roles": ROLES, "ids": IDS, "fields": ()},
}


@st.composite
def calendars(draw: st.DrawFn, provider: str) -> dict[str, Any]:
    takes = TAKES[provider]
    anything = draw(st.integers(0, 4)) == 0
    fields = ("description", "public", "members") if anything else takes["fields"]
    kinds = KINDS if anything else takes["kinds"]
    roles = ROLES if anything else takes["roles"]
    ids = IDS if anything else takes["ids"]
    name = NAMES if anything else TEXT.map(str.strip).filter(bool)
    calendar: dict[str, Any] = {"provider": provider, "name": draw(name)}
    if "description" in fields and draw(st.booleans()):
        calendar["description"] = draw(st.one_of(st.just(""), NAMES))
    if "public" in fields and draw(st.booleans()):
        calendar["public"] = draw(st.booleans())
    if "members" in fields and draw(st.booleans()):
        members = draw(st.lists(st.tuples(st.sampled_from(kinds), ids, st.sampled_from(roles)),
                                max_size=3, unique_by=lambda m: (m[0], m[1].strip().lower())))
        calendar["members"] = [{kind: who, "role": role} for kind, who, role in members]
    if draw(st.integers(0, 4)) == 0:
        calendar["id"] = draw(IDS)
    if provider != "people" and draw(st.integers(0, 2)) == 0:
        calendar["events"] = draw(st.dictionaries(UIDS, EVENTS, max_size=2))
    return calendar


UIDS = st.one_of(st.sampled_from(["ev", "a.b", "A-1", "x" * 200, "9"]),
                 st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z"))
DATES = st.one_of(st.sampled_from([dt.date(1, 1, 1), dt.date(1900, 1, 1), dt.date(1970, 1, 1),
                                   dt.date(2027, 3, 28), dt.date(2038, 1, 19),
                                   dt.date(9999, 12, 31)]),
                  st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
ZONES = st.sampled_from(["Europe/Berlin", "UTC", "Etc/GMT+12", "Pacific/Kiritimati",
                         "America/St_Johns", "Asia/Kathmandu"])


@st.composite
def timed_or_all_day(draw: st.DrawFn) -> dict[str, Any]:
    day = draw(DATES)
    if draw(st.booleans()):
        return {"start": day, "end": day + dt.timedelta(days=draw(st.integers(0, 3)))
                if day < dt.date(9999, 12, 28) else day}
    start = dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)),
                                             draw(st.integers(0, 59))))
    length = dt.timedelta(minutes=draw(st.sampled_from([0, 1, 30, 1440, 100_000])))
    end = start + length if start < dt.datetime(9999, 12, 20) else start
    return {"start": start, "end": end, "timezone": draw(ZONES)}


EVENTS = st.builds(lambda summary, when, extra: {"summary": summary, **when, **extra},
                   st.one_of(TEXT, LONG), timed_or_all_day(),
                   st.fixed_dictionaries({}, optional={
                       "description": st.one_of(TEXT, LONG),
                       "recurrence": st.sampled_from(["FREQ=DAILY;COUNT=3",
                                                      "FREQ=YEARLY", ""]),
                       "alert": st.sampled_from(["none", "5m", "1d"])}))


class World:
    """One started sandbox; each example starts from the same empty organisation."""

    def __init__(self, box: Sandbox, folder: Path) -> None:
        self.box = box
        self.folder = folder
        box.cronofy.add_profile("pro_test", "test@example.com")
        self.empty = {name: e.snapshot() for name, e in box.emulators.items()}

    def reset(self) -> None:
        for name, emulator in self.box.emulators.items():
            emulator.restore(self.empty[name])

    def write(self, provider: str, calendar: dict[str, Any]) -> Path:
        path = self.folder / "calendars.yaml"
        path.write_text("providers:\n" + PROVIDERS[provider] + yaml.safe_dump(
            {"calendars": {"generated": calendar}}, allow_unicode=True, sort_keys=False))
        return path


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with Sandbox(seed=False, rate_limit=1_000_000, record_requests=False) as box, \
            tempfile.TemporaryDirectory() as folder:
        yield World(box, Path(folder))


def plan_apply_plan(world: World, path: Path) -> None:
    try:
        desired = load([path]).desired
    except ConfigError as exc:
        assert all(p.file and p.line > 0 for p in exc.problems), exc.problems
        event("validate refused it")
        return
    providers = build_providers(desired, sandbox=world.box.endpoints(), policy=FAST_RETRIES)
    try:
        try:
            plan = make_plan(desired, providers)
        except ApiError as exc:
            pytest.fail(f"validate accepted what the provider refuses on read: {exc}")
        except CalreconError as exc:  # e.g. a pinned id that does not exist: said, not sent
            assert "generated" in str(exc), exc
            event(f"plan refused it: {type(exc).__name__}")
            return
        report = apply_plan(plan, providers)
        refused = [o.detail for o in report.outcomes if o.status != "applied"]
        assert not refused, f"validate accepted what the provider refuses: {refused}"
        again = make_plan(desired, providers)
        assert again.empty, again.to_dict()
        event("applied and converged")
    finally:
        for provider in providers.values():
            provider.close()


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
@settings(deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_calendar_validate_accepts_plans_applies_and_converges(
        world: World, provider: str, data: st.DataObject) -> None:
    world.reset()
    plan_apply_plan(world, world.write(provider, data.draw(calendars(provider))))


HOSTS = st.sampled_from(["office.example.com", "OFFICE.example.com", "", "exa mple.com",
                         "[::1]", "[::1", "127.0.0.1", "bücher.example", "a" * 300,
                         "x_y.example", "office.example.com.", "user:pw@office.example.com",
                         "%41.example"])
URLS = st.one_of(
    TEXT,
    st.builds(lambda scheme, host, port, path, tail: f"{scheme}{host}{port}{path}{tail}",
              st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "", "//",
                               "https:/"]),
              HOSTS, st.sampled_from(["", ":443", ":8080", ":0", ":65535", ":65536", ":99999",
                                      ":x", ":"]),
              st.sampled_from(["", "/", "/v1.0", "/a b", "/%zz", "/ü"]),
              st.sampled_from(["", "?q=1", "#f", "?"])))


@given(url=URLS, provider=st.sampled_from(["lineworks", "onlyoffice", "cronofy"]))
@settings(deadline=None)
def test_any_base_url_validate_accepts_is_one_requests_can_go_to(url: str,
                                                               provider: str) -> None:
    text = yaml.safe_dump({"providers": {"p": {"type": provider, "base_url": url}},
                           "calendars": {"c": {"provider": "p", "name": "C"}}},
                          sort_keys=False, allow_unicode=True, width=10_000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(text)
        try:
            desired = load([path]).desired
        except ConfigError as exc:
            [problem] = exc.problems
            assert problem.line == 4 and "base_url" in problem.message, (problem, text)
            return
    environ = {"LINEWORKS_TOKEN": "t", "ONLYOFFICE_TOKEN": "t", "CRONOFY_TOKEN": "t",
               "CALRECON_ALLOWED_HOSTS": "allowed.invalid"}
    with pytest.raises(EgressRefused) as info:  # refused by name, before any connection
        build_providers(desired, environ=environ)
    assert "are not allowed" in str(info.value), info.value
