"""The picture of moved occurrences: which occurrences a plan moves, adds, removes and
skips, drawn as Mermaid gantt blocks that keep to the grammar and that no summary can break.

The Mermaid text is checked by a parser of the subset calrecon emits (written from Mermaid's
gantt syntax: ``gantt``, ``title``, ``dateFormat``, ``axisFormat``, ``todayMarker``,
``section`` and ``name :tags, start, length`` tasks), not by Mermaid itself.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.render import html as html_render
from reconciler.render import markdown, mermaid
from reconciler.render.picture import pictures
from reconciler.sandbox.server import Sandbox

TAG = r"(done|crit|active|milestone)"
TASK = re.compile(rf"    (?P<name>[^:#;%`\n]+) :(?P<tags>{TAG}(, {TAG})*), "
                  r"(?P<start>\d{4}-\d\d-\d\d \d\d:\d\d), (?P<length>\d+[md])\Z")
SECTION = re.compile(r"    section [^:#;%`\n]+\Z")


def parse(source: str) -> list[tuple[str, str, dt.datetime, str]]:
    """(section, tags, start, length) of every task; AssertionError on anything outside
    the subset."""
    lines = source.split("\n")
    assert lines[0] == "gantt", lines[0]
    assert re.fullmatch(r"    title [^:#;%`\n]+", lines[1]), lines[1]
    assert lines[2:5] == ["    dateFormat YYYY-MM-DD HH:mm", "    axisFormat %a %d %b",
                          "    todayMarker off"]
    tasks, section = [], None
    for line in lines[5:]:
        if line.startswith("    section "):
            assert SECTION.fullmatch(line), line
            section = line.removeprefix("    section ")
            continue
        match = TASK.fullmatch(line)
        assert match and section is not None, line
        start = dt.datetime.strptime(match["start"], "%Y-%m-%d %H:%M")
        tasks.append((section, match["tags"], start, match["length"]))
    return tasks


def event_change(action: str, live: dict[str, Any] | None, fields: dict[str, Any],
                 address: str = "works.team.events.sync") -> dict[str, Any]:
    return {"address": address, "provider": "works", "kind": "event", "action": action,
            "live_id": "e1" if live else None, "live": live, "requests": [],
            "fields": [{"path": k, "before": (live or {}).get(k), "after": v}
                       for k, v in fields.items()]}


WEEKLY = {"summary": "Weekly sync", "all_day": False, "start": "2027-03-01T09:00:00",
          "end": "2027-03-01T10:00:00", "timezone": "Asia/Tokyo",
          "recurrence": "FREQ=WEEKLY;COUNT=6"}


def drawn(*changes: dict[str, Any]) -> list[tuple[str, str, dt.datetime, str]]:
    [picture] = pictures({"changes": list(changes)})
    return parse(mermaid.gantt(picture))


def test_a_moved_series_shows_its_old_occurrences_removed_and_its_new_ones_added() -> None:
    tasks = drawn(event_change("update", WEEKLY, {"start": "2027-03-02T10:00:00",
                                                   "end": "2027-03-02T11:00:00"}))
    before = [(t, s) for sec, t, s, _ in tasks if sec.endswith("(before)")]
    after = [(t, s) for sec, t, s, _ in tasks if sec.endswith("(after)")]
    assert before[:3] == [("crit", dt.datetime(2027, 3, d, 9)) for d in (1, 8, 15)]
    assert after[:3] == [("active", dt.datetime(2027, 3, d, 10)) for d in (2, 9, 16)]
    assert all(length == "60m" for *_, length in tasks)


def test_a_skipped_date_is_a_milestone_and_the_rest_is_kept() -> None:
    tasks = drawn(event_change("update", WEEKLY, {"skip": ["2027-03-08T09:00:00"]}))
    after = {s: t for sec, t, s, _ in tasks if sec.endswith("(after)")}
    assert after[dt.datetime(2027, 3, 8, 9)] == "crit, milestone"
    assert after[dt.datetime(2027, 3, 1, 9)] == after[dt.datetime(2027, 3, 15, 9)] == "done"
    before = {s: t for sec, t, s, _ in tasks if sec.endswith("(before)")}
    assert before.pop(dt.datetime(2027, 3, 8, 9)) == "crit"  # the one that goes away
    assert set(before.values()) == {"done"}


def test_created_and_deleted_events_have_one_side_each() -> None:
    created = drawn(event_change("create", None, {"summary": "Kick-off", "all_day": True,
                                                  "start": "2027-04-05", "end": "2027-04-06"},
                                 address="works.team.events.kickoff"))
    assert [(sec, t, length) for sec, t, _, length in created] == [
        ("Kick-off (after)", "active", "2d")]
    [picture] = pictures({"changes": [event_change(
        "create", None, {"summary": "Kick-off", "all_day": True, "start": "2027-04-05"})]})
    assert mermaid.gantt(picture).split("\n")[1] == "    title works.team (all-day events)"
    deleted = drawn(event_change("delete", WEEKLY, {}))
    assert {sec for sec, *_ in deleted} == {"Weekly sync (before)"}
    assert {t for _, t, *_ in deleted} == {"crit"}


def test_every_event_of_a_calendar_is_drawn_in_the_one_zone_its_title_names() -> None:
    berlin = {**WEEKLY, "summary": "Berlin stand-up", "timezone": "Europe/Berlin"}
    [picture] = pictures({"changes": [
        event_change("update", WEEKLY, {"start": "2027-03-02T10:00:00",
                                        "end": "2027-03-02T11:00:00"}),
        event_change("delete", berlin, {}, address="works.team.events.berlin")]})
    assert picture.zone == "Asia/Tokyo"
    tasks = parse(mermaid.gantt(picture))
    berlin_starts = [s for sec, _, s, _ in tasks if sec.startswith("Berlin")]
    # 09:00 in Berlin (UTC+1 in early March) is 17:00 in Tokyo (UTC+9)
    assert berlin_starts[:2] == [dt.datetime(2027, 3, 1, 17), dt.datetime(2027, 3, 8, 17)]


def test_a_picture_draws_a_bounded_number_of_events_and_counts_the_rest() -> None:
    changes = [event_change("update", WEEKLY, {"start": "2027-03-02T10:00:00",
                                               "end": "2027-03-02T11:00:00"},
                            address=f"works.team.events.e{i:02d}") for i in range(15)]
    [picture] = pictures({"changes": changes})
    assert len(picture.events) == 12 and picture.left_out == 3
    source = mermaid.gantt(picture)
    assert source.endswith("    section 3 more events not drawn")
    assert len(parse(source)) == 12 * 6  # three occurrences before and three after each


def test_changes_that_move_nothing_draw_nothing() -> None:
    plan = {"changes": [event_change("update", WEEKLY, {"summary": "Renamed"}),
                        {"address": "works.team", "kind": "calendar", "action": "update",
                         "fields": [], "live": {}, "requests": []}]}
    assert pictures(plan) == []


HOSTILE = ["```", "a: b", "# not a comment", "<script>alert(1)</script>", "line\nbreak",
           "%% directive", "x; y", "`code`", "\u2028sep", "tab\there", "café 😀"]


@given(summary=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=80)))
def test_no_summary_can_break_out_of_the_block(summary: str) -> None:
    change = event_change("update", {**WEEKLY, "summary": summary},
                          {"start": "2027-03-02T10:00:00", "end": "2027-03-02T11:00:00"})
    [picture] = pictures({"changes": [change]})
    source = mermaid.gantt(picture)
    assert "```" not in source and "<" not in source
    parse(source)  # every line still in the grammar
    assert re.fullmatch(r"[\w .,\-()/'+…]*", mermaid.label(summary))


def moved_on_the_sandbox(tmp_path: Path, summary: str) -> tuple[CliRunner, Path, list[str]]:
    """A weekly series applied to a fresh sandbox, then moved in its YAML (not applied):
    the runner, the YAML folder and the sandbox options."""
    state = tmp_path / "state.json"
    Sandbox(state, seed=False).save()
    folder = tmp_path / "yaml"
    folder.mkdir()
    body = ("providers:\n  works: {type: lineworks}\ncalendars:\n  team:\n    provider: works\n"
            f"    name: Team\n    events:\n      sync:\n        summary: '{summary}'\n"
            "        start: 2027-03-01T09:00:00\n        end: 2027-03-01T10:00:00\n"
            "        timezone: Asia/Tokyo\n        recurrence: FREQ=WEEKLY;COUNT=6\n")
    (folder / "c.yaml").write_text(body)
    run = CliRunner()
    sandbox = ["--sandbox", "--sandbox-state", str(state)]
    assert run.invoke(cli, ["apply", str(folder), *sandbox, "--auto-approve"]).exit_code == 0
    (folder / "c.yaml").write_text(body.replace("01T09", "02T10").replace("01T10", "02T11"))
    return run, folder, sandbox


def test_the_markdown_plan_of_a_moved_series_has_its_picture(tmp_path: Path) -> None:
    """Over the wire: apply a weekly series to the sandbox, move it, plan as markdown."""
    run, folder, sandbox = moved_on_the_sandbox(tmp_path, "Weekly: sync `#1`")
    result = run.invoke(cli, ["plan", str(folder), *sandbox, "--format", "markdown"])
    assert result.exit_code == 0, result.output
    source = result.stdout.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    tasks = parse(source)
    assert ("Weekly sync 1 (before)", "crit", dt.datetime(2027, 3, 1, 9), "60m") in tasks
    assert ("Weekly sync 1 (after)", "active", dt.datetime(2027, 3, 2, 10), "60m") in tasks
    assert markdown.MARKER in result.stdout


# -- the HTML page and the SVG drawing ------------------------------------------------------


class _Page(HTMLParser):
    """Collects tags and text; a page for reviewers holds no script and loads nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def moved_plan(summary: str) -> dict[str, Any]:
    change = event_change("update", {**WEEKLY, "summary": summary},
                          {"start": "2027-03-02T10:00:00", "end": "2027-03-02T11:00:00"})
    return {"changes": [change], "summary": {"create": 0, "update": 1, "delete": 0,
                                             "blocked": 0},
            "warnings": [], "guard_rails": ["works.team: <b>too many</b>"], "notes": [],
            "fingerprint": "0" * 64}


@given(summary=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60)))
def test_the_html_page_escapes_every_summary_and_loads_nothing(summary: str) -> None:
    page = _Page()
    page.feed(html_render.render_html(moved_plan(summary)))
    page.close()
    assert "script" not in page.tags and "b" not in page.tags  # user text stays text
    assert page.links == []  # self-contained: nothing to fetch
    assert "svg" in page.tags and page.tags.count("rect") >= 6  # 3 before, 3 after, legend
    assert "Guard rail: works.team: <b>too many</b>" in "".join(page.text)


@given(summary=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60)))
def test_the_svg_is_well_formed_xml_with_a_bar_per_occurrence(summary: str) -> None:
    root = ElementTree.fromstring(html_render.render_svg_document(moved_plan(summary)))
    ns = "{http://www.w3.org/2000/svg}"
    fills = [r.get("fill") for r in root.iter(f"{ns}rect")]
    # the window holds 4 weeks: 3 occurrences before (removed), 3 after (added), + legend
    assert fills.count(html_render.FILLS["removed"]) == 3 + 1
    assert fills.count(html_render.FILLS["added"]) == 3 + 1


def test_show_writes_the_page_and_a_browser_opens_it(tmp_path: Path) -> None:
    """``show --format html`` of a saved plan; headless Chromium loads it and draws the
    drawing (skipped where no Chromium is installed: .ci/run installs Debian's)."""
    run, folder, sandbox = moved_on_the_sandbox(tmp_path, "<script>x()</script>")
    saved = tmp_path / "plan.json"
    assert run.invoke(cli, ["plan", str(folder), *sandbox, "--out", str(saved)]).exit_code == 0
    result = run.invoke(cli, ["show", str(saved), "--format", "html"])
    assert result.exit_code == 0 and result.stdout.startswith("<!DOCTYPE html>")
    assert "<script>" not in result.stdout and "&lt;script&gt;" in result.stdout
    page = tmp_path / "plan.html"
    page.write_text(result.stdout)
    svg = run.invoke(cli, ["show", str(saved), "--format", "svg"])
    ElementTree.fromstring(svg.stdout)
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None:  # .ci/run installs Debian's chromium where it can
        pytest.skip("no Chromium here to open the page with")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "<svg" in done.stdout and "&lt;script&gt;x()&lt;/script&gt;" in done.stdout


MERMAID = Path(__file__).resolve().parent / "mermaid" / "node_modules" / "mermaid" / "dist" \
    / "mermaid.min.js"


def test_mermaid_itself_renders_every_picture(tmp_path: Path) -> None:
    """The blocks for created, moved, skipped and deleted occurrences, and for hostile
    summaries, rendered by Mermaid in headless Chromium: each draws without an error.
    Skipped without Chromium, or without Mermaid (.ci/run installs both: Mermaid from the
    npm registry into tests/mermaid/)."""
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None or not MERMAID.exists():
        pytest.skip("needs Chromium and 'npm install --prefix tests/mermaid'")
    plans = [
        [event_change("update", WEEKLY, {"start": "2027-03-02T10:00:00",
                                         "end": "2027-03-02T11:00:00"})],
        [event_change("update", WEEKLY, {"skip": ["2027-03-08T09:00:00"]})],
        [event_change("create", None, {"summary": "Kick-off", "all_day": True,
                                       "start": "2027-04-05", "end": "2027-04-06"})],
        [event_change("delete", WEEKLY, {})],
        [event_change("update", {**WEEKLY, "summary": s},
                      {"recurrence": "FREQ=DAILY;COUNT=40"}, address=f"works.t.events.e{i}")
         for i, s in enumerate(HOSTILE)],
    ]
    sources = [mermaid.gantt(p) for changes in plans for p in pictures({"changes": changes})]
    assert len(sources) == 5
    assert render_with_mermaid(browser, sources, tmp_path) == ["OK"] * len(sources)


def render_with_mermaid(browser: str, sources: list[str], folder: Path) -> list[str]:
    """Mermaid's verdict on each source: OK, or its error."""
    blocks = "".join(f'<pre class="src">{html_render.escape(s)}</pre>' for s in sources)
    page = folder / "render.html"
    page.write_text(
        f'<!DOCTYPE html><html><body>{blocks}<div id="out">pending</div>'
        f'<script src="{MERMAID.as_uri()}"></script><script>'
        "mermaid.initialize({startOnLoad: false});"
        "const out = [];"
        "Promise.all([...document.querySelectorAll('pre.src')].map((el, i) =>"
        "  mermaid.render('g' + i, el.textContent).then("
        "    r => out[i] = r.svg.includes('Syntax error') ? 'ERROR' : 'OK',"
        "    e => out[i] = 'FAILED ' + e))).then("
        "  () => document.getElementById('out').textContent = 'DONE ' + out.join(';'));"
        "</script></body></html>")
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           "--allow-file-access-from-files", "--virtual-time-budget=20000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=180, check=False)
    result = re.search(r'id="out">DONE ([^<]*)<', done.stdout)
    assert result, (done.stdout[-1000:], done.stderr[-2000:])
    return html.unescape(result[1]).split(";")


def test_the_mermaid_check_can_fail(tmp_path: Path) -> None:
    """The check above would see a block Mermaid refuses (a date that does not exist)."""
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome")
                    if shutil.which(b)), None)
    if browser is None or not MERMAID.exists():
        pytest.skip("needs Chromium and 'npm install --prefix tests/mermaid'")
    [picture] = pictures({"changes": [event_change("delete", WEEKLY, {})]})
    good = mermaid.gantt(picture)
    bad = good.replace("2027-03-08 09:00", "2027-13-45 09:00")
    verdicts = render_with_mermaid(browser, [good, bad], tmp_path)
    assert verdicts[0] == "OK" and verdicts[1].startswith("FAILED"), verdicts
