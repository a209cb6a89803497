"""Secrets go only where the repository's owners said: the allow-list of hosts
(``CALRECON_ALLOWED_HOSTS``, reconciler.egress), credential variables that a YAML may name,
and the guard that keeps a pull request's providers section from being planned with secrets.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler import egress
from reconciler.cli import cli
from reconciler.http import HttpClient

ALLOWED = "office.example.com, *.corp.example"


def test_a_base_url_outside_the_allow_list_gets_not_even_a_connection(
        tmp_path: Path, listener: tuple[str, list[socket.socket]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    address, accepted = listener
    monkeypatch.setenv("CALRECON_ALLOWED_HOSTS", ALLOWED)
    monkeypatch.setenv("LINEWORKS_TOKEN", "secret-token-of-the-tenant")
    (tmp_path / "c.yaml").write_text(
        "providers:\n  works:\n    type: lineworks\n"
        f"    base_url: https://{address}/v1.0\n"  # what a pull request would change
        "calendars:\n  cal:\n    provider: works\n    name: C\n")
    result = CliRunner().invoke(cli, ["plan", str(tmp_path)])
    assert result.exit_code == 1
    host, port = address.split(":")
    assert f"provider 'works': requests to {host}:{port} are not allowed" in result.stderr
    assert "CALRECON_ALLOWED_HOSTS" in result.stderr
    assert accepted == []  # no TLS hello, no connection at all


def test_the_sandbox_is_allowed_and_other_loopback_addresses_are_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALRECON_ALLOWED_HOSTS", ALLOWED)
    examples = Path(__file__).resolve().parent.parent / "examples"
    result = CliRunner().invoke(cli, ["plan", str(examples), "--sandbox", "--sandbox-state",
                                      str(tmp_path / "state.json")])
    assert result.exit_code == 0, result.output
    with pytest.raises(egress.EgressRefused, match=r"127\.0\.0\.1:9"):
        egress.check("works", "http://127.0.0.1:9/v1.0")


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://office.example.com/api", True),
    ("https://OFFICE.example.com:443/api", True),
    ("https://office.example.com:8443/api", True),  # a bare host allows every port
    ("https://mail.corp.example/x", True),
    ("https://corp.example/x", False),  # *.domain is for subdomains
    ("https://evil-office.example.com/x", False),
    ("https://www.worksapis.com/v1.0", True),  # documented defaults need no listing
    ("http://www.worksapis.com/v1.0", False),  # ... over https only
    ("https://api-de.cronofy.com/v1", True),
    ("https://localhost/x", False),
])
def test_hosts_match_entries_and_defaults(url: str, allowed: bool) -> None:
    environ = {"CALRECON_ALLOWED_HOSTS": ALLOWED}
    if allowed:
        egress.check("p", url, environ)
    else:
        with pytest.raises(egress.EgressRefused):
            egress.check("p", url, environ)


def test_a_port_entry_allows_that_port_only() -> None:
    environ = {"CALRECON_ALLOWED_HOSTS": "office.example.com:8443"}
    egress.check("p", "https://office.example.com:8443/", environ)
    with pytest.raises(egress.EgressRefused):
        egress.check("p", "https://office.example.com/", environ)


def test_no_allow_list_no_restriction() -> None:
    egress.check("p", "http://127.0.0.1:1/", {})
    egress.check("p", "http://127.0.0.1:1/", {"CALRECON_ALLOWED_HOSTS": " "})


def test_a_next_page_pointing_elsewhere_is_refused_before_it_is_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The server chooses a listing's next page URL: it may not send the token elsewhere.
    monkeypatch.setenv("CALRECON_ALLOWED_HOSTS", "api.cronofy.com")
    sent: list[httpx.Request] = []
    http = HttpClient(provider="cronofy", base_url="https://api.cronofy.com",
                      headers={"Authorization": "Bearer t-0123456789"},
                      transport=httpx.MockTransport(lambda r: sent.append(r) or
                                                    httpx.Response(200, json={})))
    http.request("GET", "/v1/events", address="people")
    with pytest.raises(egress.EgressRefused, match=r"evil\.example"):
        http.request("GET", "https://evil.example/v1/events/pages/2", address="people")
    assert [str(r.url.host) for r in sent] == ["api.cronofy.com"]


@pytest.mark.parametrize("name", ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "HOME"])
def test_token_env_may_only_name_calrecons_variables(tmp_path: Path, name: str) -> None:
    (tmp_path / "c.yaml").write_text(
        f"providers:\n  works:\n    type: lineworks\n    token_env: {name}\ncalendars: {{}}\n")
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert f"c.yaml:4:5: providers.works.token_env: '{name}' is not a variable" in result.stderr


# -- the guard: a pull request's providers section is not planned with secrets ---------------

BASE = """\
providers:
  works:
    type: lineworks
  office:
    type: onlyoffice
    base_url: https://office.example.com
calendars:
  team:
    provider: works
    name: Team
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "org.yaml").write_text(BASE)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-q", "-m", "base")
    monkeypatch.chdir(root)
    return root


def _guard(tmp_path: Path, *extra: str) -> tuple[int, str, str, str]:
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary)}
    result = CliRunner(env=env).invoke(cli, ["github", "guard", "--base", "main", *extra,
                                             "calendars"])
    return result.exit_code, result.output, _read(output), _read(summary)


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize(("edit", "why"), [
    (("https://office.example.com", "https://collector.example"),
     "provider 'office': base_url changes from 'https://office.example.com' to "
     "'https://collector.example'"),
    (("type: lineworks\n", "type: lineworks\n    token_env: LINEWORKS_OTHER\n"),
     "provider 'works': token_env changes from None to 'LINEWORKS_OTHER'"),
    (("calendars:\n", "  extra:\n    type: cronofy\n    base_url: https://x.example\n"
                      "calendars:\n"), "provider 'extra' is new"),
])
def test_a_changed_providers_section_is_not_planned(repo: Path, tmp_path: Path,
                                                    edit: tuple[str, str], why: str) -> None:
    (repo / "calendars" / "org.yaml").write_text(BASE.replace(*edit))
    code, out, output, summary = _guard(tmp_path)
    assert code == 0, out
    assert output == "providers_changed=true\n"
    assert why in out and why in summary and "Plan skipped" in summary


def test_calendar_changes_alone_are_planned(repo: Path, tmp_path: Path) -> None:
    (repo / "calendars" / "org.yaml").write_text(BASE.replace("name: Team", "name: Team 2")
                                                 + "  board:\n    provider: office\n"
                                                   "    name: Board\n")
    (repo / "calendars" / "more.yaml").write_text("calendars:\n  x:\n    provider: works\n"
                                                  "    name: X\n")
    code, out, output, summary = _guard(tmp_path)
    assert code == 0, out
    assert output == "providers_changed=false\n" and summary == ""
    assert "unchanged since main" in out


def test_a_base_that_is_not_a_ref_is_an_error(repo: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["github", "guard", "--base", "no-such-ref", "calendars"])
    assert result.exit_code == 1 and "git ls-tree" in result.output


def test_the_guard_says_why_on_the_plan_comment(repo: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fake_github import TOKEN, serve

    (repo / "calendars" / "org.yaml").write_text(BASE.replace("https://office.example.com",
                                                              "https://collector.example"))
    with serve() as (fake, url):
        pr = fake.add_issue("PR", [], pull_request=True)
        monkeypatch.setenv("GITHUB_REPOSITORY", "org/cal")
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        monkeypatch.setenv("GITHUB_API_URL", url)
        code, out, _, _ = _guard(tmp_path, "--pr", str(pr))
        assert code == 0, out
        [posted] = fake.comments.values()
        assert "Plan skipped" in posted["body"] and "collector.example" in posted["body"]


def test_the_workflow_guards_its_plan_and_limits_every_job() -> None:
    """The reusable workflow runs the action in each job with the allow-list; the action
    guards the providers section before it plans, and every step that sends requests has
    the allow-list in its environment."""
    import yaml

    root = Path(__file__).resolve().parent.parent
    workflow = yaml.safe_load((root / ".github" / "workflows" / "calrecon.yml").read_text())
    jobs = workflow["jobs"]
    for name in ("plan", "apply", "drift"):
        [step] = [s for s in jobs[name]["steps"] if s.get("uses") == "./.calrecon-action"]
        assert step["with"]["allowed-hosts"] == "${{ inputs.allowed-hosts }}"
    assert jobs["plan"]["steps"][0]["with"]["fetch-depth"] == 0
    action = yaml.safe_load((root / "action.yml").read_text())
    steps = action["runs"]["steps"]
    names = [s.get("name") for s in steps]
    guard, plan = names.index("Guard the providers section"), names.index("Plan")
    assert guard < plan and "calrecon github guard --base" in steps[guard]["run"]
    assert "steps.guard.outputs.providers_changed == 'false'" in steps[plan]["if"]
    assert "head.repo.full_name == github.repository" in steps[plan]["if"]  # no fork plans
    for step in steps:
        if any(f"calrecon {verb}" in step.get("run", "") for verb in ("plan", "apply")):
            assert step["env"]["CALRECON_ALLOWED_HOSTS"] == "${{ inputs.allowed-hosts }}", \
                step["name"]
