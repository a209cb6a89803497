"""Recurring events over the wire: a series is compared as a series, the occurrences people
cancel or change in the calendar survive every update, ``skip`` manages cancellations, and
events move between calendars. Section 0 of providers.md is cited by number (O1, L1, ...)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from reconciler.plan import Action
from reconciler.sandbox.server import Sandbox
from tests.conftest import Driver

SERIES = """\
calendars:
  team:
    provider: {provider}
    name: Team
    events:
      standup:
        summary: {summary}
        start: {start}
        end: {end}
        timezone: {zone}
        recurrence: FREQ=WEEKLY;BYDAY=MO;COUNT=20
{extra}"""
PROVIDERS = ["works", "office"]


def series(provider: str, summary: str = "Standup", start: str = "2027-03-01T09:00:00",
           end: str = "2027-03-01T09:15:00", zone: str = "Europe/Berlin", extra: str = ""
           ) -> str:
    return SERIES.format(provider=provider, summary=summary, start=start, end=end, zone=zone,
                         extra=extra)


def api(sandbox: Sandbox, kind: str) -> httpx.Client:
    endpoint = sandbox.endpoints()[kind]
    auth = endpoint.token if kind == "onlyoffice" else f"Bearer {endpoint.token}"
    return httpx.Client(base_url=endpoint.base_url, headers={"Authorization": auth})


def cancel_occurrence(sandbox: Sandbox, provider: str, day: str, *,
                      wall: dt.datetime | None = None, zone: str | None = "Europe/Berlin",
                      all_day: bool = False) -> None:
    """Cancel the occurrence on ``day`` (at ``wall``, 09:00 by default, in ``zone``) as the
    calendar's own UI would: ONLYOFFICE ``DELETE events/{id}/custom`` type 0 (O1); LINE WORKS
    a PUT of the item with an EXDATE line added to the master's recurrence (L1)."""
    wall = wall or dt.datetime.fromisoformat(f"{day}T09:00:00")
    if provider == "office":
        [event] = sandbox.onlyoffice.events.values()
        with api(sandbox, "onlyoffice") as client:
            # the date's UTC reading is the wall time in the event's zone (CalendarApi ~4963)
            answer = client.request("DELETE", f"/api/2.0/calendar/events/{event['id']}/custom",
                                    json={"date": f"{wall.isoformat()}Z", "type": 0})
        assert answer.status_code == 200, answer.text
        return
    [(calendar_id, events)] = [(c, e) for c, e in sandbox.lineworks.events.items() if e]
    [(event_id, item)] = events.items()
    master = dict(item["eventComponents"][0])
    line = (f"EXDATE;VALUE=DATE:{wall:%Y%m%d}" if all_day
            else f"EXDATE;TZID={zone}:{wall:%Y%m%dT%H%M%S}")
    master["recurrence"] = [*master["recurrence"], line]
    put_item(sandbox, calendar_id, event_id, [master, *item["eventComponents"][1:]])


def put_item(sandbox: Sandbox, calendar_id: str, event_id: str,
             components: list[dict[str, Any]]) -> None:
    with api(sandbox, "lineworks") as client:
        answer = client.put(f"/users/me/calendars/{calendar_id}/events/{event_id}",
                            json={"eventComponents": components, "sendNotification": False})
    assert answer.status_code == 200, answer.text


def live_cancelled(sandbox: Sandbox, provider: str) -> list[str]:
    """The cancelled occurrences as the emulator stores them."""
    if provider == "office":
        [event] = sandbox.onlyoffice.events.values()
        return list(event["exdates"])
    [item] = [i for e in sandbox.lineworks.events.values() for i in e.values()]
    return [line for line in item["eventComponents"][0]["recurrence"]
            if line.startswith("EXDATE")]


# -- a series is a series ------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_moving_a_weekly_series_a_week_later_is_a_change(driver: Driver, provider: str) -> None:
    driver.write(series(provider))
    driver.converge()
    driver.write(series(provider, start="2027-03-08T09:00:00", end="2027-03-08T09:15:00"))
    [change] = driver.plan().changes
    assert change.action is Action.UPDATE
    assert {f.path for f in change.fields} >= {"start", "end"}
    driver.converge()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_same_first_instant_in_another_zone_is_a_change(driver: Driver, provider: str) -> None:
    """09:00 Berlin and 08:00 UTC are one instant in March, but not after the DST change.
    (ONLYOFFICE cannot keep a series in UTC, §1.9.7: Reykjavik is UTC all year.)"""
    driver.write(series(provider))
    driver.converge()
    zone = "UTC" if provider == "works" else "Atlantic/Reykjavik"
    driver.write(series(provider, start="2027-03-01T08:00:00", end="2027-03-01T08:15:00",
                        zone=zone))
    [change] = driver.plan().changes
    assert change.action is Action.UPDATE
    assert "timezone" in {f.path for f in change.fields}
    driver.converge()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_omitted_recurrence_is_left_alone(driver: Driver, sandbox: Sandbox,
                                          provider: str) -> None:
    driver.write(series(provider))
    driver.converge()
    text = series(provider, summary="Daily sync").replace(
        "        recurrence: FREQ=WEEKLY;BYDAY=MO;COUNT=20\n", "")
    driver.write(text)
    [change] = driver.plan().changes
    assert [f.path for f in change.fields] == ["summary"]
    driver.converge()
    if provider == "office":
        [event] = sandbox.onlyoffice.events.values()
        assert event["rrule"].upper() == "FREQ=WEEKLY;COUNT=20;BYDAY=MO"
    else:
        [item] = [i for e in sandbox.lineworks.events.values() for i in e.values()]
        assert item["eventComponents"][0]["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=20;BYDAY=MO"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_recurrence_empty_text_removes_the_rule(driver: Driver, provider: str) -> None:
    driver.write(series(provider))
    driver.converge()
    driver.write(series(provider).replace("FREQ=WEEKLY;BYDAY=MO;COUNT=20", '""'))
    [change] = driver.plan().changes
    assert "recurrence" in {f.path for f in change.fields}
    driver.converge()


# -- exceptions are never lost -------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_occurrence_cancelled_in_the_calendar_survives_a_summary_change(
        driver: Driver, sandbox: Sandbox, provider: str) -> None:
    driver.write(series(provider))
    driver.converge()
    cancel_occurrence(sandbox, provider, "2027-03-08")
    assert driver.plan().empty  # the YAML does not manage skip: kept, not drift
    driver.write(series(provider, summary="Daily sync"))
    plan = driver.plan()
    [change] = plan.changes
    assert [f.path for f in change.fields] == ["summary"]
    assert any("keep 1 cancelled occurrence(s)" in n for n in plan.notes), plan.notes
    driver.converge()
    assert len(live_cancelled(sandbox, provider)) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_cancelled_occurrence_follows_the_series_to_a_new_time(
        driver: Driver, sandbox: Sandbox, provider: str) -> None:
    driver.write(series(provider))
    driver.converge()
    cancel_occurrence(sandbox, provider, "2027-03-08")
    driver.write(series(provider, start="2027-03-01T10:00:00", end="2027-03-01T10:15:00"))
    driver.converge()
    skip = "\n".join(["        skip: [2027-03-08]", ""])
    driver.write(series(provider, start="2027-03-01T10:00:00", end="2027-03-01T10:15:00",
                        extra=skip))
    assert driver.plan().empty  # the cancelled Monday is still the 8th, now at 10:00


@pytest.mark.parametrize("provider", PROVIDERS)
def test_skip_in_the_yaml_is_authoritative_and_shows_drift(driver: Driver, sandbox: Sandbox,
                                                           provider: str) -> None:
    skip = "        skip: [2027-03-15]\n"
    driver.write(series(provider, extra=skip))
    driver.converge()
    assert len(live_cancelled(sandbox, provider)) == 1
    cancel_occurrence(sandbox, provider, "2027-03-08")
    [change] = driver.plan().changes  # drift: the YAML manages skip
    assert [f.path for f in change.fields] == ["skip"]
    assert change.fields[0].before == ["2027-03-08T09:00:00", "2027-03-15T09:00:00"]
    driver.converge()
    assert len(live_cancelled(sandbox, provider)) == 1


def test_lineworks_exception_components_survive_every_update(driver: Driver,
                                                             sandbox: Sandbox) -> None:
    """L1: a moved occurrence is a second component with the series' eventId; PUT replaces the
    whole item, so calrecon sends it back unchanged."""
    driver.write(series("works"))
    driver.converge()
    [(calendar_id, events)] = [(c, e) for c, e in sandbox.lineworks.events.items() if e]
    [(event_id, item)] = events.items()
    moved = {"eventId": event_id, "recurringEventId": event_id, "summary": "Standup (moved)",
             "start": {"dateTime": "2027-03-09T11:00:00", "timeZone": "Europe/Berlin"},
             "end": {"dateTime": "2027-03-09T11:15:00", "timeZone": "Europe/Berlin"}}
    put_item(sandbox, calendar_id, event_id, [item["eventComponents"][0], moved])
    assert driver.plan().empty
    driver.write(series("works", summary="Daily sync", zone="Asia/Tokyo"))
    plan = driver.plan()
    assert any("1 changed occurrence(s)" in n for n in plan.notes), plan.notes
    driver.converge()
    [item] = sandbox.lineworks.events[calendar_id].values()
    assert item["eventComponents"][1]["summary"] == "Standup (moved)"
    assert item["eventComponents"][0]["summary"] == "Daily sync"


def test_lineworks_rule_lines_without_prefix_are_read(driver: Driver, sandbox: Sandbox) -> None:
    """L2: the emulator answers ``FREQ=...`` without ``RRULE:``; the plan must stay empty."""
    driver.write(series("works"))
    driver.converge()
    with api(sandbox, "lineworks") as client:
        [calendar_id] = [c for c, e in sandbox.lineworks.events.items() if e]
        answer = client.get(f"/users/me/calendars/{calendar_id}/events/standup").json()
    assert answer["eventComponents"][0]["recurrence"] == ["FREQ=WEEKLY;COUNT=20;BYDAY=MO"]
    assert driver.plan().empty


# -- ONLYOFFICE: repeatRule, UIDs across calendars (O1, O2) --------------------------------
def test_o1_repeat_rule_as_the_server_writes_it_is_read(driver: Driver,
                                                        sandbox: Sandbox) -> None:
    driver.write(series("office").replace("COUNT=20", "UNTIL=20270601"))
    driver.converge()
    cancel_occurrence(sandbox, "office", "2027-03-08")
    with api(sandbox, "onlyoffice") as client:
        listing = client.get("/api/2.0/calendar/calendars/2027-03-01/2027-03-20").json()
    rules = {e["repeatRule"] for c in listing["response"] for e in c.get("events", [])}
    assert rules == {"freq=weekly;until=20270601t215959z;byday=mo;exdates=20270308T080000Z"} \
        or rules == {"freq=weekly;until=20270601T215959Z;byday=mo;exdates=20270308T080000Z"}
    assert driver.plan().empty


OTHER = """\
  other:
    provider: office
    name: Other
    events: {}
"""


def test_o2_moving_an_event_between_calendars_is_one_change(driver: Driver,
                                                            sandbox: Sandbox) -> None:
    driver.write(series("office") + OTHER)
    driver.converge()
    moved = series("office").replace("    events:\n      standup:", "    events: {}\n      x:")
    moved = moved.split("      x:")[0] + OTHER.replace("events: {}", "events:\n" + "\n".join(
        "  " + line if line else line for line in series("office").split("    events:\n")[1]
        .splitlines()))
    driver.write(moved)
    plan = driver.plan()
    [change] = plan.changes
    assert change.action is Action.UPDATE and change.address == "office.other.events.standup"
    assert change.fields[0].path == "calendar"
    assert (change.fields[0].before, change.fields[0].after) == ("office.team", "office.other")
    driver.converge()
    [event] = sandbox.onlyoffice.events.values()
    assert sandbox.onlyoffice.calendars[event["calendarId"]]["title"] == "Other"


def test_o2_a_uid_held_by_a_calendar_the_yaml_does_not_manage_is_not_created(
        driver: Driver, sandbox: Sandbox) -> None:
    driver.write(series("office"))
    driver.converge()
    driver.write(series("office").replace("name: Team", "name: Other"))
    [calendar, event] = sorted(driver.plan().changes, key=lambda c: c.kind)
    assert calendar.action is Action.CREATE
    assert event.action is Action.BLOCKED
    assert "calendar 'Team'" in event.reason and "O2" in event.reason
    driver.apply()
    assert len(sandbox.onlyoffice.events) == 1


def test_o2_post_with_a_known_uid_updates_in_place_and_ignores_the_calendar(
        sandbox: Sandbox) -> None:
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:A\r\n"
           "DTSTART:20270301T090000Z\r\nDTEND:20270301T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    first = sandbox.onlyoffice.add_calendar("First")
    second = sandbox.onlyoffice.add_calendar("Second")
    with api(sandbox, "onlyoffice") as client:
        for cid in (first, second):
            answer = client.post("/api/2.0/calendar/icsevent",
                                 json={"calendarId": cid, "ics": ics, "eventUid": "u"})
            assert answer.status_code == 201
    [event] = sandbox.onlyoffice.events.values()
    assert event["calendarId"] == first


def test_o3_a_shared_calendar_is_listed_only_once_accepted(sandbox: Sandbox) -> None:
    box = sandbox.onlyoffice
    cid = box.add_calendar("Theirs", owner="d0d0d0d0-0000-4000-8000-000000000004",
                           sharing=[{"itemId": box.user, "isGroup": False,
                                     "actionId": "full_access"}])
    with api(sandbox, "onlyoffice") as client:
        def titles() -> set[str]:
            listing = client.get("/api/2.0/calendar/calendars/2027-01-01/2027-01-02").json()
            return {c["title"] for c in listing["response"]}
        assert "Theirs" not in titles()
        assert client.get(f"/api/2.0/calendar/{cid}").json()["response"]["title"] == "Theirs"
        assert client.put(f"/api/2.0/calendar/{cid}/view", json={}).status_code == 200
        assert "Theirs" in titles()


def test_o4_the_listing_end_is_exclusive_and_calrecon_asks_for_the_day_after(
        driver: Driver, sandbox: Sandbox) -> None:
    cid = sandbox.onlyoffice.add_calendar("Team")
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:late\r\nSUMMARY:Late\r\n"
           "DTSTART;TZID=Europe/Berlin:20270310T200000\r\n"
           "DTEND;TZID=Europe/Berlin:20270310T210000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    sandbox.onlyoffice.add_event(cid, "late", ics)
    with api(sandbox, "onlyoffice") as client:
        def count(end: str) -> int:
            listing = client.get(f"/api/2.0/calendar/calendars/2027-03-01/{end}").json()
            return sum(len(c.get("events", [])) for c in listing["response"])
        assert count("2027-03-10") == 0 and count("2027-03-11") == 1
    driver.write("""\
calendars:
  team:
    provider: office
    name: Team
    prune: true
    events: {}
""")
    [delete] = [c for c in driver.plan().changes if c.action is Action.DELETE]
    assert delete.address == "office.team.events.late"


def test_o5_omitted_parameters_are_sent_explicitly(driver: Driver, sandbox: Sandbox) -> None:
    """An omitted alertType is Never and an omitted timeZone UTC: calrecon sends both."""
    driver.write(series("office"))
    plan = driver.plan()
    create_calendar = next(c for c in plan.changes if c.kind == "calendar")
    assert create_calendar.requests[0].body["alertType"] == -1
    # the zone of the default calendar the server made when it was first listed (§1.9.4)
    assert create_calendar.requests[0].body["timeZone"] == "Europe/Berlin"
    create_event = next(c for c in plan.changes if c.kind == "event")
    assert create_event.requests[0].body["alertType"] == -1
    driver.converge()
    [event] = sandbox.onlyoffice.events.values()
    assert event["alert"] == -1


def test_o6_sharing_ids_must_be_guids(driver: Driver, sandbox: Sandbox) -> None:
    with api(sandbox, "onlyoffice") as client:
        answer = client.post("/api/2.0/calendar", json={
            "name": "X", "sharingOptions": [{"actionId": "read", "itemId": "kim@example.com"}]})
    assert answer.status_code == 400
    driver.write("""\
calendars:
  team:
    provider: office
    name: Team
    members:
      - user: kim@example.com
        role: read
""")
    with pytest.raises(Exception, match="names users and groups by their GUID"):
        driver.plan()


def test_o7_parameter_names_bind_in_any_case_and_from_a_form(sandbox: Sandbox) -> None:
    endpoint = sandbox.endpoints()["onlyoffice"]
    login = httpx.post(f"{endpoint.base_url}/api/2.0/authentication",
                       data={"username": "admin@sandbox.example", "PASSWORD": "sandbox-password"})
    assert login.status_code == 201
    with api(sandbox, "onlyoffice") as client:
        assert client.post("/api/2.0/calendar", json={"NAME": "Upper"}).status_code == 201
    assert {c["title"] for c in sandbox.onlyoffice.calendars.values()} == {"Upper"}


def test_o8_a_null_result_is_a_failure(driver: Driver, sandbox: Sandbox) -> None:
    """POST icsevent into a calendar that vanished answers 201 with a null result."""
    driver.write(series("office") + OTHER)
    driver.converge()
    driver.write(series("office") + OTHER.replace("events: {}", """events:
      new:
        summary: New
        start: 2027-04-01""") + "\n")
    plan = driver.plan()
    [other] = [k for k, c in sandbox.onlyoffice.calendars.items() if c["title"] == "Other"]
    del sandbox.onlyoffice.calendars[other]
    report = driver.apply(plan)
    [failed] = report.by_status("failed")
    assert "no result (null)" in (failed.detail or "")


# -- Cronofy (C1, C2) ----------------------------------------------------------------------
CRONOFY = """\
calendars:
  people:
    provider: people
    id: cal_people
    name: People
    events:
      talk:
        summary: Talk
        start: 2027-03-01T09:00:00
        end: 2027-03-01T10:00:00
        timezone: Europe/Berlin
{extra}"""


@pytest.mark.parametrize("omitted_kept", [False, True], ids=["omitted-cleared", "omitted-kept"])
def test_c1_clearing_a_location_converges_whatever_an_omission_does(
        driver: Driver, sandbox: Sandbox, omitted_kept: bool) -> None:
    sandbox.cronofy.omitted_kept = omitted_kept
    sandbox.cronofy.add_profile("pro_test", "test@example.com")
    sandbox.cronofy.add_calendar("pro_test", "People", calendar_id="cal_people")
    driver.write(CRONOFY.format(extra="        location: Room 1\n"))
    driver.converge()
    driver.write(CRONOFY.format(extra='        location: ""\n'))
    driver.converge()
    driver.write(CRONOFY.format(extra="        description: Notes\n"))
    driver.converge()
    [event] = [e for e in sandbox.cronofy.events.values() if e.get("event_id") == "talk"]
    assert (event["location"] or {}).get("description", "") == ""
    assert event["description"] == "Notes"


def test_c2_an_event_ending_exactly_at_from_is_listed(sandbox: Sandbox) -> None:
    endpoint = sandbox.endpoints()["cronofy"]
    box = sandbox.cronofy
    box.add_profile("pro_test", "test@example.com")
    calendar_id = box.add_calendar("pro_test", "People")
    box.add_external_event(calendar_id, "ext-1", "Ends at midnight", "2027-03-01T23:00:00Z",
                           "2027-03-02T00:00:00Z")
    with httpx.Client(base_url=endpoint.base_url,
                      headers={"Authorization": f"Bearer {endpoint.token}"}) as client:
        answer = client.get("/v1/events", params={"tzid": "Etc/UTC", "from": "2027-03-02",
                                                  "to": "2027-03-03"}).json()
    assert [e["summary"] for e in answer["events"]] == ["Ends at midnight"]


# -- what goes with a deleted calendar; what prune can see ---------------------------------
def events_yaml(provider: str, days: list[str], extra: str = "") -> str:
    lines = ["calendars:", "  team:", f"    provider: {provider}", "    name: Team", extra,
             "    events:"]
    for day in days:
        lines += [f"      e{day.replace('-', '')}:", f"        summary: On {day}",
                  f"        start: {day}"]
    return "\n".join(line for line in lines if line) + "\n"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_deleting_a_calendar_counts_its_events_and_needs_force(driver: Driver,
                                                               provider: str) -> None:
    days = [f"2027-04-{d:02d}" for d in range(1, 13)]
    driver.write(events_yaml(provider, days))
    driver.converge()
    driver.write(f"calendars:\n  team:\n    provider: {provider}\n    name: Team\n"
                 "    state: absent\n")
    plan = driver.plan()
    [change] = plan.changes
    assert change.action is Action.DELETE
    assert [f.before for f in change.fields if f.path == "events"] == [12]
    assert any("deletes its 12 live event(s)" in n for n in plan.notes), plan.notes
    from reconciler.loader import load
    from reconciler.safety import check
    [breach] = check(plan, load([driver.folder]).desired)
    assert "deletes 12 of 12 events" in breach


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("removed", ["earliest", "latest"])
def test_prune_finds_an_event_removed_from_either_end(driver: Driver, provider: str,
                                                      removed: str) -> None:
    days = ["2027-01-05", "2027-06-10", "2027-11-20"]
    driver.write(events_yaml(provider, days, "    prune: true"))
    driver.converge()
    kept = days[1:] if removed == "earliest" else days[:-1]
    driver.write(events_yaml(provider, kept, "    prune: true"))
    plan = driver.plan()
    gone = days[0] if removed == "earliest" else days[-1]
    assert [(c.action, c.address) for c in plan.changes] == [
        (Action.DELETE, f"{provider}.team.events.e{gone.replace('-', '')}")]
    assert any("prune looks for live events between" in n for n in plan.notes), plan.notes
    driver.converge()


# -- time and rules are validated as a calendar would --------------------------------------
@pytest.mark.parametrize(("start", "message"), [
    ("2027-03-28T02:30:00", "does not exist in Europe/Berlin"),
])
def test_a_wall_time_in_a_dst_gap_is_refused(driver: Driver, start: str, message: str) -> None:
    driver.write(series("works", start=start, end="2027-03-28T03:30:00"))
    with pytest.raises(Exception, match=message) as caught:
        driver.plan()
    assert "calendars.yaml:" in str(caught.value)


def test_a_wall_time_in_a_fold_is_the_first_of_the_two(driver: Driver,
                                                       sandbox: Sandbox) -> None:
    """RFC 5545 §3.3.5: a repeated local time means its first occurrence (summer time)."""
    driver.write(series("works", start="2027-10-31T02:30:00", end="2027-10-31T02:45:00"))
    driver.converge()


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY;INTERVAL=0", "FREQ=YEARLY;BYMONTH=13",
                                  "FREQ=MONTHLY;BYMONTHDAY=32", "FREQ=DAILY;BYHOUR=25",
                                  "FREQ=MONTHLY;BYDAY=0MO", "FREQ=DAILY;COUNT=0"])
def test_an_rrule_with_out_of_range_parts_is_refused_where_it_is(driver: Driver,
                                                                 rule: str) -> None:
    driver.write(series("works").replace("FREQ=WEEKLY;BYDAY=MO;COUNT=20", rule))
    with pytest.raises(Exception, match=r"out of range|at least 1") as caught:
        driver.plan()
    assert "calendars.yaml:" in str(caught.value)


def test_skip_must_name_an_occurrence_of_the_series(driver: Driver) -> None:
    driver.write(series("works", extra="        skip: [2027-03-09]\n"))
    with pytest.raises(Exception, match="is not an occurrence of the series"):
        driver.plan()


def test_l1_a_put_of_the_master_alone_drops_the_exceptions(sandbox: Sandbox) -> None:
    """What calrecon must never do, shown on the emulator: PUT replaces the whole item."""
    calendar_id = sandbox.lineworks.add_calendar("Team")
    master = {"eventId": "s", "summary": "S", "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
              "start": {"dateTime": "2027-03-01T09:00:00", "timeZone": "Europe/Berlin"},
              "end": {"dateTime": "2027-03-01T10:00:00", "timeZone": "Europe/Berlin"}}
    moved = {**master, "recurringEventId": "s", "recurrence": [],
             "start": {"dateTime": "2027-03-02T11:00:00", "timeZone": "Europe/Berlin"},
             "end": {"dateTime": "2027-03-02T12:00:00", "timeZone": "Europe/Berlin"}}
    sandbox.lineworks.add_event(calendar_id, master)
    put_item(sandbox, calendar_id, "s", [master, moved])
    assert len(sandbox.lineworks.events[calendar_id]["s"]["eventComponents"]) == 2
    put_item(sandbox, calendar_id, "s", [master])
    assert len(sandbox.lineworks.events[calendar_id]["s"]["eventComponents"]) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_skip_on_an_event_that_does_not_repeat_is_blocked(driver: Driver,
                                                          provider: str) -> None:
    """validate cannot know the live rule when the YAML leaves recurrence out."""
    text = series(provider).replace("        recurrence: FREQ=WEEKLY;BYDAY=MO;COUNT=20\n", "")
    driver.write(text)
    driver.converge()
    driver.write(text + "        skip: [2027-03-08]\n")
    [change] = driver.plan().changes
    assert change.action is Action.BLOCKED and "skip needs a series" in change.reason
