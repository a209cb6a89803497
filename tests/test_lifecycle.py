"""Plan lifecycle over the CLI and the sandbox: saved plans, staleness, formats, exit codes,
guard rails, targets, partial failures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.sandbox.server import TOKENS, Sandbox

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = "providers:\n  works: {type: lineworks}\n"


def members(n: int, role: str = "read") -> str:
    return "".join(f"      - user: u{i}@example.com\n        role: {role}\n" for i in range(n))


def team(member_yaml: str, extra: str = "") -> str:
    return (PROVIDERS + "calendars:\n  team:\n    provider: works\n    name: Team\n" + extra
            + "    members:\n" + member_yaml)


class Cli:
    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "yaml"
        self.folder.mkdir()
        self.state = tmp_path / "state.json"
        self.runner = CliRunner()
        Sandbox(self.state, seed=False).save()  # an empty organisation

    def write(self, body: str) -> None:
        (self.folder / "c.yaml").write_text(body)

    def run(self, *args: str) -> tuple[int, str, str]:
        result = self.runner.invoke(cli, [*args, "--sandbox", "--sandbox-state",
                                          str(self.state)] if args[0] in ("plan", "apply")
                                    else list(args), prog_name="calrecon",
                                    catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    def edit_live(self) -> Sandbox:
        return Sandbox(self.state)


@pytest.fixture
def c(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_exit_codes_no_changes_changes_error_blocked(c: Cli) -> None:
    c.write(team(members(2)))
    assert c.run("plan", str(c.folder), "--detailed-exitcode")[0] == 2
    assert c.run("plan", str(c.folder))[0] == 0
    assert c.run("apply", str(c.folder), "--auto-approve")[0] == 0
    assert c.run("plan", str(c.folder), "--detailed-exitcode")[0] == 0
    (c.folder / "c.yaml").write_text(PROVIDERS + "calendars: {x: {provider: nope, name: X}}\n")
    assert c.run("plan", str(c.folder), "--detailed-exitcode")[0] == 1
    (c.folder / "c.yaml").write_text(
        "providers:\n  people: {type: cronofy}\ncalendars:\n  t:\n    provider: people\n"
        "    name: Team\n    events:\n      e:\n        event_uid: evt_gone\n"
        "        summary: S\n        start: 2027-01-01\n")
    box = c.edit_live()
    box.cronofy.add_profile("p", "p")
    box.cronofy.add_calendar("p", "Team")
    box.save()
    code, out, _ = c.run("plan", str(c.folder), "--detailed-exitcode")
    assert code == 1 and "1 blocked." in out


def test_saved_plan_applies_exactly_and_a_stale_one_is_refused(c: Cli, tmp_path: Path) -> None:
    c.write(team(members(2)))
    saved = tmp_path / "plan.json"
    code, _, err = c.run("plan", str(c.folder), "--out", str(saved))
    assert code == 0 and f"calrecon apply {saved}" in err
    box = c.edit_live()  # someone creates the calendar by hand meanwhile
    box.lineworks.add_calendar("Team")
    box.save()
    before = c.state.read_text()
    code, _, err = c.run("apply", str(saved), "--auto-approve")
    assert code == 1
    assert "plan is stale" in err and "works.team" in err and "nothing was sent" in err
    assert c.state.read_text() == before  # the emulator received no write
    code, _, _ = c.run("plan", str(c.folder), "--out", str(saved))
    c.write(team(members(5)))  # editing the YAML after the plan changes nothing: it is saved
    code, out, _ = c.run("apply", str(saved), "--auto-approve")
    assert code == 0 and "Apply complete: 1 applied" in out
    live = json.loads(c.state.read_text())["lineworks"]["calendars"]
    assert [len(cal["members"]) for cal in live.values()] == [2]


def test_plan_file_holds_no_token_and_tampering_is_refused(c: Cli, tmp_path: Path) -> None:
    c.write(team(members(2)))
    saved = tmp_path / "plan.json"
    c.run("plan", str(c.folder), "--out", str(saved))
    body = saved.read_text()
    assert all(token not in body for token in TOKENS.values())
    data = json.loads(body)
    data["changes"][0]["requests"][0]["path"] = "/calendars/evil"
    saved.write_text(json.dumps(data))
    code, _, err = c.run("apply", str(saved), "--auto-approve")
    assert code == 1 and "changed after calrecon wrote it" in err
    saved.write_text(body[:-40])
    code, _, err = c.run("show", str(saved))
    assert code == 1 and "not a calrecon plan file (not JSON" in err
    del data["changes"][0]["address"]
    saved.write_text(json.dumps(data))
    code, _, err = c.run("show", str(saved))
    assert code == 1 and "not a valid plan file at changes/0" in err


def test_show_renders_a_saved_plan_in_every_format(c: Cli, tmp_path: Path) -> None:
    c.write(team(members(2)))
    saved = tmp_path / "plan.json"
    c.run("plan", str(c.folder), "--out", str(saved))
    _, out, _ = c.run("show", str(saved))
    assert out.startswith("Changed addresses:\n  works.team\n")
    _, md, _ = c.run("show", str(saved), "--format", "markdown")
    assert md.startswith("<!-- calrecon-plan -->\n### calrecon plan: Plan: 1 to create")
    assert "| 🟢 create | `works.team` | calendar |  |" in md
    assert "<details>" in md and "```diff\n+ name: \"Team\"" in md
    _, js, _ = c.run("show", str(saved), "--format", "json")
    assert json.loads(js)["changed_addresses"] == ["works.team"]


def test_json_output_is_valid_against_the_schema(c: Cli) -> None:
    validator = jsonschema.Draft202012Validator(
        json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    shipped = ROOT / "reconciler" / "schemas" / "plan.schema.json"
    assert shipped.read_text() == (ROOT / "schemas" / "plan.schema.json").read_text()
    c.write(team(members(2)))
    for step in range(2):
        _, out, _ = c.run("plan", str(c.folder), "--format", "json")
        data = json.loads(out)
        assert not list(validator.iter_errors(data))
        assert data["format_version"] == 1 and re.fullmatch(r"[0-9a-f]{64}", data["fingerprint"])
        if step == 0:
            c.run("apply", str(c.folder), "--auto-approve")
    assert data["changes"] == []


def test_text_is_colored_only_when_asked() -> None:
    from reconciler.render.text import render_plan
    plan = {"changes": [{"address": "w.t", "kind": "calendar", "action": "create", "fields":
                         [{"path": "name", "before": None, "after": "T"}], "requests": []}],
            "summary": {"create": 1, "update": 0, "delete": 0, "blocked": 0}}
    assert "\x1b[" in render_plan(plan, color=True)
    assert "\x1b[" not in render_plan(plan, color=False)


def test_revoking_too_many_members_needs_force(c: Cli) -> None:
    c.write(team(members(10)))
    c.run("apply", str(c.folder), "--auto-approve")
    c.write(team(members(6)))  # revokes 4 of 10 = 40% > 30%
    code, out, err = c.run("plan", str(c.folder))
    assert code == 1
    assert "works.team: the plan revokes 4 of 10 members (40% > 30%); pass --force" in err
    assert "Plan: 0 to create, 1 to update" in out  # the plan is still shown
    assert c.run("apply", str(c.folder), "--auto-approve")[0] == 1
    code, out, err = c.run("apply", str(c.folder), "--auto-approve", "--force")
    assert code == 0 and "Warning (forced)" in err


def test_a_guard_rail_is_part_of_the_plan_in_every_format(c: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """A breach is not only an error on stderr: the JSON (and its schema), markdown, text,
    github output, a saved plan and 'show' of it all carry it."""
    c.write(team(members(10)))
    c.run("apply", str(c.folder), "--auto-approve")
    c.write(team(members(6)))
    breach = "works.team: the plan revokes 4 of 10 members (40% > 30%)"
    saved = tmp_path / "plan.json"
    code, out, _ = c.run("plan", str(c.folder), "--format", "json", "--out", str(saved))
    data = json.loads(out)
    assert code == 1 and [b[:len(breach)] for b in data["guard_rails"]] == [breach]
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    jsonschema.validate(data, schema)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    for fmt, shown in (("text", f"Guard rail: {breach}"),
                       ("markdown", f"> **⛔ Guard rail:** {breach}"),
                       ("github", "title=calrecon%3A guard rail::" + breach.replace("%",
                                                                                    "%25"))):
        assert shown in c.run("plan", str(c.folder), "--format", fmt)[1], fmt
        assert shown in c.run("show", str(saved), "--format", fmt)[1], f"show {fmt}"
    assert f"> **⛔ Guard rail:** {breach}" in summary.read_text()
    assert json.loads(c.run("show", str(saved), "--format", "json")[1])["guard_rails"] \
        == data["guard_rails"]
    # a forced apply of the saved plan still applies it (the rail is not in the fingerprint)
    code, _, err = c.run("apply", str(saved), "--force", "--auto-approve")
    assert code == 0 and "Warning (forced)" in err


def test_revoking_within_the_threshold_or_below_the_minimum_passes(c: Cli) -> None:
    c.write(team(members(10)))
    c.run("apply", str(c.folder), "--auto-approve")
    c.write(team(members(7)))  # 3 of 10 = 30%: allowed
    assert c.run("plan", str(c.folder))[0] == 0
    c.write(team(members(9)))
    c.run("apply", str(c.folder), "--auto-approve")
    c.write(team(members(3)))  # 6 of 9: fewer than 10 existing, so no threshold
    assert c.run("plan", str(c.folder))[0] == 0


def test_emptying_a_member_list_always_needs_force(c: Cli) -> None:
    c.write(team(members(2)))
    c.run("apply", str(c.folder), "--auto-approve")
    c.write(team("      []\n").replace("    members:\n      []", "    members: []"))
    code, _, err = c.run("plan", str(c.folder))
    assert code == 1 and "empties the member list (revokes all 2 members)" in err
    assert c.run("apply", str(c.folder), "--auto-approve", "--force")[0] == 0


def test_thresholds_are_set_per_calendar_and_per_provider(c: Cli) -> None:
    c.write(team(members(10)))
    c.run("apply", str(c.folder), "--auto-approve")
    c.write(team(members(6), extra="    safety: {max_delete_percent: 50}\n"))
    assert c.run("plan", str(c.folder))[0] == 0
    c.write(team(members(6)).replace("works: {type: lineworks}",
                                     "works: {type: lineworks, safety: {min_existing: 20}}"))
    assert c.run("plan", str(c.folder))[0] == 0
    c.write(team(members(9)).replace("works: {type: lineworks}",
                                     "works: {type: lineworks, safety: {max_delete_percent: 5}}"))
    code, _, err = c.run("plan", str(c.folder))
    assert code == 1 and "revokes 1 of 10 members (10% > 5%)" in err


def test_pruning_too_many_events_needs_force(c: Cli) -> None:
    events = "".join(f"      e{i}:\n        summary: E{i}\n        start: 2027-01-{i + 1:02d}\n"
                     for i in range(10))
    body = PROVIDERS + "calendars:\n  team:\n    provider: works\n    name: Team\n    prune: " \
                       "true\n    events:\n"
    c.write(body + events)
    c.run("apply", str(c.folder), "--auto-approve")
    kept = "".join(events.splitlines(keepends=True)[:18])  # e0..e5: deletes 4 of 10
    c.write(body + kept + "      last:\n        summary: Last\n        start: 2027-01-10\n")
    code, _, err = c.run("plan", str(c.folder))
    assert code == 1 and "works.team: the plan deletes 4 of 10 events (40% > 30%)" in err
    assert c.run("apply", str(c.folder), "--auto-approve", "--force")[0] == 0


def test_target_limits_the_plan_with_a_warning(c: Cli) -> None:
    c.write(PROVIDERS + "calendars:\n" + "".join(
        f"  c{i}:\n    provider: works\n    name: C{i}\n" for i in range(3)))
    code, out, _ = c.run("plan", str(c.folder), "--target", "works.c1")
    assert out.startswith("Warning: --target in use: the plan covers only works.c1")
    assert "Plan: 1 to create" in out
    c.run("apply", str(c.folder), "--auto-approve", "--target", "works.c1")
    _, out, _ = c.run("plan", str(c.folder))
    assert "Plan: 2 to create" in out
    code, _, err = c.run("plan", str(c.folder), "--target", "works.nope")
    assert code == 1 and "--target works.nope matches no calendar" in err


def test_partial_failure_applies_the_rest_reports_and_converges(tmp_path: Path) -> None:
    """One calendar's writes fail with 403: the others apply, its events are skipped."""
    from tests.conftest import Driver
    with Sandbox(seed=False) as box:
        folder = tmp_path / "y"
        folder.mkdir()
        driver = Driver(box, folder)
        driver.write("calendars:\n" + "".join(
            f"  c{i}:\n    provider: works\n    name: C{i}\n    description: d\n"
            for i in range(4)) + "    events:\n      e:\n        summary: E\n"
                                 "        start: 2027-01-01\n")
        existing = [box.lineworks.add_calendar(f"C{i}") for i in range(4)]
        box.lineworks.deny(f"/calendars/{existing[3]}")
        report = driver.apply()
        # the calendar's PATCH and its event's POST both hit the denied path
        assert [o.change.address for o in report.by_status("failed")] == [
            "works.c3", "works.c3.events.e"]
        assert [o.change.address for o in report.by_status("skipped")] == []
        assert len(report.by_status("applied")) == 3
        failed = report.by_status("failed")[0].detail
        assert "HTTP 403" in failed and "FORBIDDEN: Access Denied" in failed
        box.lineworks.denied.clear()
        driver.converge()


def test_dependents_of_a_failed_create_are_skipped(tmp_path: Path) -> None:
    from tests.conftest import Driver
    with Sandbox(seed=False) as box:
        folder = tmp_path / "y"
        folder.mkdir()
        driver = Driver(box, folder)
        driver.write("calendars:\n  c:\n    provider: works\n    name: C\n    events:\n"
                     "      e:\n        summary: E\n        start: 2027-01-01\n")
        box.lineworks.deny("/calendars")
        report = driver.apply()
        assert [o.status for o in report.outcomes] == ["failed", "skipped"]
        assert "depends on works.c, which failed" in report.outcomes[1].detail
        box.lineworks.denied.clear()
        driver.converge()


def test_apply_reports_all_three_lists_and_progress_lines(c: Cli) -> None:
    c.write(PROVIDERS + "calendars:\n" + "".join(
        f"  c{i:02d}:\n    provider: works\n    name: C{i:02d}\n" for i in range(12)))
    code, _, err = c.run("apply", str(c.folder), "--auto-approve")
    assert code == 0 and "Progress: 12/12 changes done, 0 failed" in err


def test_two_tenants_of_one_provider_type_each_get_an_emulator_and_converge(c: Cli) -> None:
    """Two LINE WORKS providers are two organisations: the same calendar name in each is two
    calendars, each converging, not one calendar fought over."""
    c.write("providers:\n  works: {type: lineworks}\n"
            "  subsidiary: {type: lineworks, token_env: LINEWORKS_SUBSIDIARY_TOKEN}\n"
            "calendars:\n"
            "  team:\n    provider: works\n    name: Team\n    description: Head office\n"
            "  sub-team:\n    provider: subsidiary\n    name: Team\n"
            "    description: Subsidiary\n")
    code, out, _ = c.run("plan", str(c.folder))
    assert code == 0 and "Plan: 2 to create" in out, out
    assert c.run("apply", str(c.folder), "--auto-approve")[0] == 0
    code, out, _ = c.run("plan", str(c.folder), "--detailed-exitcode")
    assert code == 0 and "No changes." in out, out
    state = json.loads(c.state.read_text())
    described = {name: [cal["description"] for cal in section["calendars"].values()]
                 for name, section in state.items() if isinstance(section, dict)
                 and "calendars" in section and section["calendars"]}
    assert described == {"lineworks": ["Head office"], "lineworks/subsidiary": ["Subsidiary"]}
