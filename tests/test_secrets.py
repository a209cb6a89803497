"""Tokens never leave calrecon: not in stdout, stderr, log records, plan files or exceptions,
even when a server quotes them back.

The emulators here are hostile on purpose: error bodies, headers and redirect targets echo
the caller's own ``Authorization`` header. Every run is at ``-vv``, with a log handler that
this test owns placed *before* the CLI's own (so it sees each record as it was made, not
after the CLI's filter cleaned it), and caplog for every other logger (httpx, httpcore).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from werkzeug.wrappers import Response

from reconciler import cli as cli_module
from reconciler import secrets
from reconciler.cli import cli
from reconciler.errors import ProviderError
from reconciler.sandbox.server import TOKENS, Sandbox
from tests.conftest import Driver


class Records(logging.Handler):
    """Keeps every formatted record, and the raw message and arguments, unfiltered."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))
        self.texts.append(repr(record.args))


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> Iterator[Records]:
    handler = Records()
    original: Callable[[int], None] = cli_module._setup_logging

    def setup(verbose: int) -> None:
        original(verbose)
        logging.getLogger("reconciler").handlers.insert(0, handler)

    monkeypatch.setattr(cli_module, "_setup_logging", setup)
    yield handler


def _echo(emulator: Any, body_of: Callable[[str], bytes], mimetype: str) -> None:
    """Injected faults of ``emulator`` quote the request's token in the body and headers."""

    def injected(status: int) -> Response:
        token = emulator.token
        headers = {"X-Echo-Authorization": f"Bearer {token}",
                   "Location": f"https://login.example/?access_token={token}"}
        if status == 429:
            headers["Retry-After"] = "0"
        return Response(body_of(token), status=status, mimetype=mimetype, headers=headers)

    emulator.injected = injected


def _hostile(box: Sandbox) -> None:
    _echo(box.lineworks, lambda t: json.dumps(
        {"code": "INVALID_TOKEN", "description": f"token Bearer {t} is not valid"}).encode(),
        "application/json")
    _echo(box.onlyoffice, lambda t: f"<html><body>Authorization: {t}</body></html>".encode(),
          "text/html")
    _echo(box.cronofy, lambda t: json.dumps({"errors": {"summary": [
        {"key": "errors.invalid", "description": f"bad for {t}"}]}}).encode(),
        "application/json")


YAML = """\
providers:
  works:
    type: lineworks
    base_url: {lineworks}
  office:
    type: onlyoffice
    base_url: {onlyoffice}
  people:
    type: cronofy
    base_url: {cronofy}
    profile_id: pro_test
calendars:
  team:
    provider: works
    name: Team
    description: new
  board:
    provider: office
    name: Board
    description: new
  staff:
    provider: people
    name: Staff
    events:
      e1:
        summary: S
        start: 2027-01-04
"""


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Sandbox, Path]]:
    with Sandbox(seed=False) as box:
        box.lineworks.add_calendar("Team", description="old")
        box.onlyoffice.add_calendar("Board", description="old")
        box.cronofy.add_profile("pro_test", "p")
        box.cronofy.add_calendar("pro_test", "Staff")
        _hostile(box)
        urls = {name: e.base_url for name, e in box.endpoints().items()}
        folder = tmp_path / "yaml"
        folder.mkdir()
        (folder / "c.yaml").write_text(YAML.format(**urls))
        monkeypatch.setenv("LINEWORKS_TOKEN", TOKENS["lineworks"])
        monkeypatch.setenv("ONLYOFFICE_TOKEN", TOKENS["onlyoffice"])
        monkeypatch.setenv("CRONOFY_TOKEN", TOKENS["cronofy"])
        yield box, folder


def _assert_clean(texts: list[str]) -> None:
    for token in TOKENS.values():
        leaks = [t for t in texts if token in t]
        assert not leaks, f"{token} in: {leaks[0][:500]}"


def test_tokens_echoed_by_servers_reach_no_output_log_or_file(
        hostile: tuple[Sandbox, Path], records: Records, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    box, folder = hostile
    caplog.set_level(logging.DEBUG)
    runner = CliRunner()
    seen: list[str] = []
    saved = tmp_path / "plan.json"
    # Temporary failures first: each is retried, and logged, with the token in the answer.
    for emulator, fragment in (("lineworks", "calendar-personals"),
                               ("onlyoffice", "/calendar/calendars"),
                               ("cronofy", "/v1/calendars")):
        box.emulators[emulator].script("GET", fragment, "503", times=2)
        box.emulators[emulator].script("GET", fragment, "429", times=1)
    for fmt in ("text", "markdown", "json", "github"):
        result = runner.invoke(cli, ["plan", str(folder), "-vv", "--format", fmt,
                                     "--out", str(saved)])
        assert result.exit_code == 0, result.output
        seen += [result.stdout, result.stderr, saved.read_text()]
    assert any("retry 1/" in t and "INVALID_TOKEN" in t for t in records.texts), \
        "the retries were not logged with the server's text"
    # Permanent failures: a 400 on a write (apply report), a redirect on a read (plan error).
    box.lineworks.script("PATCH", "/calendars/", "400", times=1)
    box.onlyoffice.script("PUT", "/calendar/", "403", times=1)
    box.cronofy.script("POST", "/events", "422", times=1)
    result = runner.invoke(cli, ["apply", str(folder), "-vv", "--auto-approve"])
    assert result.exit_code == 1, result.output
    assert result.stderr.count("[REDACTED]") >= 3, result.stderr
    seen += [result.stdout, result.stderr]
    box.lineworks.script("GET", "calendar-personals", "302", times=None)
    result = runner.invoke(cli, ["plan", str(folder), "-vv"])
    assert result.exit_code == 1, result.output
    seen += [result.stdout, result.stderr]
    seen += records.texts + [r.getMessage() for r in caplog.records]
    assert any("GET http://127.0.0.1" in s for s in seen)  # -vv did log the requests
    _assert_clean(seen)


def test_exceptions_raised_to_a_library_caller_hold_no_token(driver: Driver,
                                                             sandbox: Sandbox) -> None:
    _hostile(sandbox)
    sandbox.lineworks.add_calendar("Team")
    driver.write("calendars:\n  team:\n    provider: works\n    name: Team\n")
    sandbox.lineworks.script("GET", "calendar-personals", "401", times=None)
    with pytest.raises(ProviderError) as info:
        driver.plan()
    assert "[REDACTED]" in str(info.value)
    _assert_clean([str(info.value), repr(info.value), *map(str, info.value.args)])


def test_the_cli_log_handler_masks_any_record_that_quotes_a_token(
        capsys: pytest.CaptureFixture[str]) -> None:
    # The second line of defence: a record made anywhere (a library's, or ours by mistake)
    # is masked by the CLI's own handler before it is written.
    secret = "handler-test-token-0123"
    secrets.register(secret)
    cli_module._setup_logging(2)
    logging.getLogger("reconciler.anything").warning("sent Authorization: %s", secret)
    logging.getLogger("reconciler.anything").debug("token %s again", secret)
    err = capsys.readouterr().err
    assert secret not in err and err.count("[REDACTED]") == 2, err


def test_a_secret_inside_another_is_masked_whole() -> None:
    # Longest first: masking "abcd-1234" before "abcd-1234-long" would leave "-long" showing.
    secrets.register("abcd-1234")
    secrets.register("abcd-1234-long-token")
    assert secrets.redact("x abcd-1234-long-token y") == "x [REDACTED] y"
    assert secrets.redact("zzzz-1234-long-token") == "zzzz-1234-long-token"


def test_strings_too_short_to_be_tokens_are_not_masked() -> None:
    secrets.register("abc")  # masking a 3-letter string would mangle ordinary text
    assert secrets.redact("abc def") == "abc def"
    secrets.register("wxyz")
    assert secrets.redact("wxyz") == "[REDACTED]"


def test_the_filter_leaves_a_record_that_formats_as_masked() -> None:
    secrets.register("filter-token-0123")
    record = logging.LogRecord("reconciler.x", logging.INFO, __file__, 1, "sent %s %d",
                               ("filter-token-0123", 5), None)
    assert secrets.RedactingFilter().filter(record)
    assert record.getMessage() == "sent [REDACTED] 5" and record.args is None
