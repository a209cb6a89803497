"""The command line end to end, in-process, with the sandbox over loopback HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "sandbox.json")


def run(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), prog_name="calrecon", catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_examples_plan_apply_plan_converges(runner: CliRunner, state: str) -> None:
    code, out, _ = run(runner, "plan", str(EXAMPLES), "--sandbox", "--sandbox-state", state,
                       "--detailed-exitcode")
    assert code == 2
    assert "Plan: 10 to create, 6 to update, 1 to delete." in out
    assert "~ member user:bob@example.com: \"read\" -> \"write\"" in out
    assert "- member user:dave@example.com" in out
    code, out, _ = run(runner, "apply", str(EXAMPLES), "--sandbox", "--sandbox-state", state,
                       "--auto-approve")
    assert code == 0, out
    assert "Apply complete: 17 applied, 0 failed, 0 skipped." in out
    assert "works.design-reviews: create complete (id calendar-" in out
    code, out, _ = run(runner, "plan", str(EXAMPLES), "--sandbox", "--sandbox-state", state,
                       "--detailed-exitcode")
    assert code == 0
    assert out.strip().endswith("No changes. The live state matches the YAML.")


def test_validate_reports_file_line_and_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("calendars:\n  team:\n    provider: works\n    name: T\n    colour: red\n")
    code, out, err = run(runner, "validate", str(bad))
    assert code == 1
    assert f"Error: {bad}:5:5: calendars.team.colour: unknown field 'colour'" in err
    assert "1 problem found; nothing was sent." in err
    code, out, _ = run(runner, "validate", str(EXAMPLES))
    assert code == 0 and out.startswith("Valid: 4 file(s), 3 provider(s), 8 calendar(s).")


def test_bad_yaml_makes_no_request(runner: CliRunner, tmp_path: Path, state: str) -> None:
    folder = tmp_path / "yaml"
    shutil.copytree(EXAMPLES, folder)
    (folder / "lineworks.yaml").write_text(
        (folder / "lineworks.yaml").read_text().replace("role: read", "role: owner"))
    code, _, err = run(runner, "plan", str(folder), "--sandbox", "--sandbox-state", state)
    assert code == 1 and "role" in err
    assert not Path(state).exists()  # the sandbox never even started


def test_apply_without_a_terminal_refuses_instead_of_waiting(runner: CliRunner,
                                                             state: str) -> None:
    code, _, err = run(runner, "apply", str(EXAMPLES), "--sandbox", "--sandbox-state", state)
    assert code == 1
    assert "standard input is not a terminal" in err and "--auto-approve" in err
    code, out, _ = run(runner, "plan", str(EXAMPLES), "--sandbox", "--sandbox-state", state)
    assert "Plan: 10 to create, 6 to update, 1 to delete." in out  # nothing was applied


def test_missing_token_is_a_clear_error(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LINEWORKS_TOKEN", raising=False)
    code, _, err = run(runner, "plan", str(EXAMPLES))
    assert code == 1
    assert "environment variable LINEWORKS_TOKEN is not set" in err
    assert "--sandbox" in err


def test_verbose_logs_requests_without_the_token(runner: CliRunner, state: str) -> None:
    code, _, err = run(runner, "plan", str(EXAMPLES), "--sandbox", "--sandbox-state", state, "-v")
    assert code == 0
    assert "lineworks GET http://127.0.0.1:" in err
    assert "/calendar-personals?count=50 -> 200" in err
    assert "sandbox-lineworks-token" not in err


def _commands(group: click.Group, path: tuple[str, ...] = ()
              ) -> list[tuple[tuple[str, ...], click.Command]]:
    found: list[tuple[tuple[str, ...], click.Command]] = [(path, group)]
    for name in group.list_commands(click.Context(group)):
        command = group.get_command(click.Context(group), name)
        assert command is not None
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append(((*path, name), command))
    return found


# What each command reads from the environment, written down here independently of the
# code that declares it, so that a variable added to one and not the other fails.
TOKENS = ("LINEWORKS_TOKEN", "ONLYOFFICE_TOKEN", "ONLYOFFICE_USERNAME", "ONLYOFFICE_PASSWORD",
          "CRONOFY_TOKEN", "CALRECON_ALLOWED_HOSTS", "CALRECON_SANDBOX_STATE")
GITHUB_RUN = ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_API_URL", "GITHUB_SERVER_URL",
              "GITHUB_RUN_ID")
READS = {
    ("plan",): (*TOKENS, "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"),
    ("apply",): TOKENS,
    ("import",): TOKENS,
    ("show",): ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"),
    ("github", "comment"): GITHUB_RUN,
    ("github", "drift"): GITHUB_RUN,
    ("github", "guard"): ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY",
                          "GITHUB_TOKEN", "GITHUB_API_URL"),
    ("sandbox", "serve"): ("CALRECON_SANDBOX_STATE",),
    ("sandbox", "reset"): ("CALRECON_SANDBOX_STATE",),
}


def test_every_command_and_option_has_help_naming_the_environment_it_reads(
        runner: CliRunner) -> None:
    commands = _commands(cli)
    assert len(commands) >= 15
    for path, command in commands:
        code, out, _ = run(runner, *path, "--help")
        assert code == 0 and "Usage: calrecon" in out, path
        assert command.help, f"{path} has no help text"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"calrecon {' '.join(path)} {param.opts[0]} has no help"
        flat = " ".join(out.split())
        for name in READS.get(path, ()):
            assert name in flat, f"calrecon {' '.join(path)} --help does not name {name}"
        if path and path not in READS and not isinstance(command, click.Group):
            assert "Environment:" not in out, path


def test_shell_completion_completes_commands_options_and_choices() -> None:
    def complete(words: str) -> list[str]:
        env = {**os.environ, "_CALRECON_COMPLETE": "bash_complete", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
        done = subprocess.run([sys.executable, "-m", "reconciler"], env=env,
                              capture_output=True, text=True, check=True)
        return [line.split(",", 1)[1] for line in done.stdout.splitlines()]
    assert complete("calrecon pl") == ["plan"]
    assert "--detailed-exitcode" in complete("calrecon plan --de")
    assert complete("calrecon plan --format ") == ["text", "markdown", "json", "github",
                                                   "html", "svg"]
    assert complete("calrecon github d") == ["drift"]


def test_sandbox_reset_forgets_state(runner: CliRunner, state: str) -> None:
    run(runner, "apply", str(EXAMPLES), "--sandbox", "--sandbox-state", state, "--auto-approve")
    assert Path(state).exists()
    code, _, _ = run(runner, "sandbox", "reset", "--state", state)
    assert code == 0 and not Path(state).exists()


def test_corrupt_sandbox_state_is_a_clear_error(runner: CliRunner, state: str) -> None:
    Path(state).write_text("{not json")
    code, _, err = run(runner, "plan", str(EXAMPLES), "--sandbox", "--sandbox-state", state)
    assert code == 1 and "cannot read the sandbox state" in err and "sandbox reset" in err


def test_schema_command_prints_the_schema(runner: CliRunner) -> None:
    code, out, _ = run(runner, "schema")
    assert code == 0 and json.loads(out)["title"] == "calrecon desired state"


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "reconciler", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("calrecon, version ")


# The second way runs it as a platform without signal.pause (Windows) would.
NO_PAUSE = ["-c", "import runpy, signal; del signal.pause; "
                  "runpy.run_module('reconciler', run_name='__main__', alter_sys=True)"]


@pytest.mark.parametrize("run", [["-m", "reconciler"], NO_PAUSE], ids=["posix", "no-pause"])
def test_sandbox_serve_answers_any_client_and_saves_on_exit(tmp_path: Path,
                                                            run: list[str]) -> None:
    import signal
    import subprocess
    import sys

    import httpx

    state = tmp_path / "served.json"
    proc = subprocess.Popen(
        [sys.executable, *run, "sandbox", "serve", "--state", str(state)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        name, url, _, token = proc.stdout.readline().split()
        assert name == "lineworks" and url.startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(f"{url}/calendars", json={"calendarName": "From curl"},
                             headers=headers)
        assert created.status_code == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert "From curl" in state.read_text()


@pytest.mark.parametrize("args", [
    ["plan", "--no-such-option", "x"],
    ["plan", "--format", "nope", "x"],
    ["plan"],  # PATHS missing
    ["show", "no-such-plan.json"],
    ["no-such-command"],
])
def test_usage_errors_exit_1_not_the_code_for_changes(args: list[str]) -> None:
    # 2 means "changes present" under --detailed-exitcode: no error may exit 2.
    run = subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True,
                         text=True, check=False)
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert "Error" in run.stderr and "Traceback" not in run.stderr


def test_the_documented_exit_codes(tmp_path: Path, state: str) -> None:
    def code(*args: str) -> int:
        return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True,
                              text=True, check=False, cwd=tmp_path).returncode

    base = ["--sandbox", "--sandbox-state", state]
    assert code("plan", str(EXAMPLES), *base, "--detailed-exitcode") == 2  # changes present
    assert code("plan", str(EXAMPLES), *base) == 0  # changes, without --detailed-exitcode
    assert code("apply", str(EXAMPLES), *base, "--auto-approve") == 0
    assert code("plan", str(EXAMPLES), *base, "--detailed-exitcode") == 0  # no changes
    bad = tmp_path / "bad.yaml"
    bad.write_text("calendars: [\n")
    assert code("validate", str(bad)) == 1
    assert code("--help") == 0 and code("--version") == 0


def test_the_apply_hint_after_a_sandbox_plan_keeps_the_sandbox(tmp_path: Path,
                                                               state: str) -> None:
    saved = tmp_path / "plan.json"
    result = CliRunner().invoke(cli, ["plan", str(EXAMPLES), "--sandbox", "--sandbox-state",
                                      state, "--out", str(saved)])
    assert f"apply it with: calrecon apply {saved} --sandbox --sandbox-state {state}" \
        in result.stderr
    result = CliRunner().invoke(cli, ["apply", str(saved), "--sandbox", "--sandbox-state",
                                      state, "--auto-approve"])
    assert result.exit_code == 0, result.output  # the hint, followed, works


def test_a_misspelt_event_target_is_an_error(state: str) -> None:
    result = CliRunner().invoke(cli, ["plan", str(EXAMPLES), "--sandbox", "--sandbox-state",
                                      state, "--target", "works.platform-team.events.nope"])
    assert result.exit_code == 1
    assert "--target works.platform-team.events.nope matches nothing in the YAML" \
        in result.stderr


@pytest.mark.parametrize(("flag", "said"), [([], "(saved on exit)"),
                                            (["--no-save"], "(not saved: --no-save)")])
def test_sandbox_serve_says_whether_it_saves(tmp_path: Path, flag: list[str], said: str) -> None:
    import signal

    state = tmp_path / "served.json"
    proc = subprocess.Popen([sys.executable, "-m", "reconciler", "sandbox", "serve", "--state",
                             str(state), *flag], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert said in lines[-1], lines
    assert state.exists() == (not flag)
