"""``calrecon fmt``: line endings and byte order marks kept, bad bytes located, and (searched
with hypothesis) every file that loads formats to a file that loads the same, once and for
all (formatting twice changes nothing)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import event, given
from hypothesis import strategies as st

from reconciler import fmt, fmt_lines
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


# -- the quick path: the same result as the round trip, on files in fmt's layout ----------

FIELD_VALUES = st.one_of(st.sampled_from(["Team", "a: b", "x # y", "'q'", "caf\u00e9", "😀",
                                         "2027-01-05", "true", "0123", "", " lead"]),
                         st.integers(-5, 10**6), st.booleans(),
                         st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1)),
                         st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2100, 1, 1)))
MEMBER = st.dictionaries(st.sampled_from(["role", "user", "group", "zz"]), FIELD_VALUES,
                         min_size=1, max_size=3)
EVENT = st.dictionaries(st.sampled_from(["timezone", "start", "summary", "end", "alert",
                                         "skip", "sharing"]),
                        st.one_of(FIELD_VALUES, st.lists(FIELD_VALUES, max_size=2),
                                  st.lists(MEMBER, max_size=2)), max_size=5)
CALENDAR = st.dictionaries(
    st.sampled_from(["name", "provider", "members", "events", "description", "id", "safety"]),
    st.one_of(FIELD_VALUES, st.lists(MEMBER, max_size=3),
              st.dictionaries(st.sampled_from(["zz", "b-ev", "a.ev", "09"]), EVENT,
                              max_size=3),
              st.dictionaries(st.sampled_from(["min_existing", "max_delete_percent"]),
                              st.integers(0, 100), max_size=2)), max_size=6)
LAID_OUT = st.fixed_dictionaries({}, optional={
    "calendars": st.dictionaries(st.sampled_from(["team", "b", "a", "zz"]), CALENDAR,
                                 max_size=3),
    "providers": st.dictionaries(st.sampled_from(["works", "office", "a"]),
                                 st.dictionaries(st.sampled_from(["type", "token_env",
                                                                  "base_url", "zz"]),
                                                 FIELD_VALUES, max_size=3), max_size=2)})


def laid_out(document: dict[str, object]) -> str:
    """``document`` as fmt's round trip writes it, keys in their given (random) order."""
    from reconciler.fmt import _yaml

    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


@given(document=LAID_OUT, comments=st.lists(st.tuples(st.integers(0, 200),
                                                      st.sampled_from(["# note", "", "x"])),
                                            max_size=4))
def test_the_quick_path_gives_what_the_round_trip_gives(document: dict[str, object],
                                                        comments: list[tuple[int, str]]
                                                        ) -> None:
    """On any file in fmt's layout (written by the round trip, keys out of order, comment
    lines, trailing comments and blank lines added), reordering the lines gives the round
    trip's text exactly; on a file not in the layout, the quick path declines."""
    lines = laid_out(document).splitlines(keepends=True)
    for where, what in comments:
        at = where % (len(lines) + 1)
        if what == "x" and at < len(lines) and not lines[at].rstrip().endswith(":"):
            lines[at] = lines[at].rstrip("\n") + "  # trailing\n"
        elif what != "x" and at > 0:
            indent = len(lines[at - 1]) - len(lines[at - 1].lstrip(" -"))
            lines.insert(at, (" " * indent + what).rstrip() + "\n")
    text = "".join(lines)
    quick = fmt_lines.reorder(text, fmt._canonical)
    event("quick" if quick is not None else "round trip")
    if quick is not None:
        assert quick[0] == fmt._round_trip(text)[0]
        assert [fmt._where(p) for p in quick[1]] or True


def test_the_quick_path_takes_a_large_formatted_file(tmp_path: Path) -> None:
    """A file of 2,000 events, laid out by fmt, is reordered line by line (the round trip
    would take ten times as long); the result is the round trip's."""
    events = {f"ev-{i:04d}": {"summary": f"Event {i}", "start": dt.date(2027, 1, 1) +
                              dt.timedelta(days=i % 300), "description": "Notes"}
              for i in reversed(range(2000))}
    text = laid_out({"calendars": {"big": {"name": "Big", "provider": "works",
                                           "events": events}}})
    quick = fmt_lines.reorder(text, fmt._canonical)
    assert quick is not None and quick[0] == fmt._round_trip(text)[0]


HOSTILE = sorted((Path(__file__).resolve().parent / "hostile").glob("*.yaml"))


@pytest.mark.parametrize("source", HOSTILE, ids=lambda p: p.name)
def test_fmt_on_hostile_input_formats_or_says_where(tmp_path: Path, source: Path) -> None:
    """Every file of the hostile corpus: fmt formats it, or exits 1 naming the file (with a
    line where there is one), never a traceback, and a file it refuses is left as it was."""
    path = tmp_path / "c.yaml"
    path.write_bytes(source.read_bytes())
    result = CliRunner().invoke(cli, ["fmt", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        assert f"Error: {path}" in result.stderr
        assert path.read_bytes() == source.read_bytes()
