"""``calrecon fmt``: line endings and byte order marks kept, bad bytes located, and (searched
with hypothesis) every file that loads formats to a file that loads the same, once and for
all (formatting twice changes nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.errors import ConfigError
from reconciler.fmt import format_bytes
from reconciler.loader import parse_text

UNSORTED = ("calendars:\n  b:\n    name: B  # the b calendar\n    provider: w\n"
            "  a:\n    provider: w\n    name: A\n")
SORTED = ("calendars:\n  a:\n    provider: w\n    name: A\n  b:\n"
          "    provider: w\n    name: B  # the b calendar\n")


@pytest.mark.parametrize(("bom", "newline"), [("", "\n"), ("", "\r\n"), ("\ufeff", "\n"),
                                              ("\ufeff", "\r\n")],
                         ids=["lf", "crlf", "bom-lf", "bom-crlf"])
def test_fmt_keeps_line_endings_and_byte_order_mark(tmp_path: Path, bom: str,
                                                    newline: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes((bom + SORTED.replace("\n", newline)).encode())
    runner = CliRunner()
    check = runner.invoke(cli, ["fmt", "--check", str(path)])
    assert check.exit_code == 0, check.output  # a formatted file is formatted in any checkout
    path.write_bytes((bom + UNSORTED.replace("\n", newline)).encode())
    assert runner.invoke(cli, ["fmt", str(path)]).exit_code == 0
    assert path.read_bytes() == (bom + SORTED.replace("\n", newline)).encode()


def test_fmt_locates_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"calendars:\n  a:\n    name: caf\xe9\n")
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert result.exit_code == 1 and f"{path}:3:14: file is not UTF-8 text" in result.stderr
    assert path.read_bytes() == b"calendars:\n  a:\n    name: caf\xe9\n"  # untouched


# Values of every kind a YAML file of ours holds, including the awkward ones: quotes,
# colons, a '#', leading spaces, non-ASCII, numbers and booleans that must stay themselves.
SCALARS = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["yes", "no", "null", "0123", "1e3", "a: b", "# not a comment", " x",
                     "2027-01-05", "2027-01-05T10:00:00", "caf\u00e9", "'q'", '"q"']),
    st.integers(-10, 10**6), st.booleans(), st.none(), st.dates())
KEYS = st.sampled_from(["summary", "start", "end", "name", "provider", "members", "role",
                        "user", "type", "zz", "a", "events", "description", "timezone"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)
DOCUMENTS = st.fixed_dictionaries({}, optional={
    "providers": st.dictionaries(st.sampled_from(["works", "office", "b", "a"]),
                                 st.dictionaries(KEYS, VALUES, max_size=4), max_size=3),
    "calendars": st.dictionaries(st.sampled_from(["team", "b", "a", "zz"]),
                                 st.dictionaries(KEYS, VALUES, max_size=5), max_size=3)})


@given(document=DOCUMENTS, flow=st.sampled_from([None, False, True]),
       indent=st.sampled_from([2, 4]), newline=st.sampled_from(["\n", "\r\n"]))
def test_fmt_keeps_the_data_and_is_a_fixed_point(document: dict[str, object],
                                                 flow: bool | None, indent: int,
                                                 newline: str) -> None:
    """For any file the loader can read: fmt gives the same data, and fmt of that is itself.
    (Whether validate then accepts the data is not fmt's business; that it reads the same
    is.)"""
    text = yaml.safe_dump(document, default_flow_style=flow, indent=indent,
                          allow_unicode=True, sort_keys=False, line_break=newline)
    before, _, problems = parse_text(text.replace("\r\n", "\n"), "c.yaml")
    if problems:
        return  # not a file validate can read (a key YAML does not read as text)
    once, _ = format_bytes(text.encode())
    after, _, problems = parse_text(once.decode().replace("\r\n", "\n"), "c.yaml")
    assert not problems and after == before
    assert format_bytes(once)[0] == once
    assert (b"\r\n" in once) == (newline == "\r\n" and b"\n" in text.encode())


def test_fmt_never_changes_what_loads(tmp_path: Path) -> None:
    """The examples, formatted, load to the same desired state."""
    from reconciler.loader import load

    root = Path(__file__).resolve().parent.parent / "examples"
    for source in sorted(root.rglob("*.yaml")):
        copy = tmp_path / source.relative_to(root)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(format_bytes(source.read_bytes())[0])
    try:
        assert load([tmp_path]).desired == load([root]).desired
    except ConfigError as exc:  # pragma: no cover - the message is the diagnosis
        pytest.fail(str(exc))
