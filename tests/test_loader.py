"""Loading YAML: merging, and every kind of bad input located at file:line:col."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.loader import load

GOOD = """\
providers:
  works:
    type: lineworks
calendars:
  team:
    provider: works
    name: Team
    members:
      - user: alice@example.com
        role: manage
"""

# (case id, YAML text, expected line:col, expected message fragment)
BAD: list[tuple[str, str, str, str]] = [
    ("syntax-error", "calendars:\n  team: [unclosed\n", "3:1", "YAML syntax error"),
    ("tab-indent", "calendars:\n\tteam: {}\n", "2:1", "YAML syntax error"),
    ("duplicate-key", GOOD + "    name: Again\n", "11:5", "duplicate key 'name' (first at line 7)"),
    ("duplicate-calendar-key", GOOD + "  team:\n    provider: works\n    name: X\n", "11:3",
     "duplicate key 'team'"),
    ("unknown-top-level", GOOD + "calenders: {}\n", "11:1", "unknown field 'calenders'"),
    ("unknown-calendar-field",
     GOOD.replace("    name: Team\n", "    name: Team\n    colour: red\n"), "8:5",
     "calendars.team.colour: unknown field 'colour'"),
    ("missing-name", GOOD.replace("    name: Team\n", ""), "5:3",
     "calendars.team.name: missing required field 'name'"),
    ("public-not-bool", GOOD.replace("    name: Team\n", "    name: Team\n    public: maybe\n"),
     "8:5", "calendars.team.public: Input should be a valid boolean"),
    ("members-not-list", GOOD.replace("    members:\n      - user: alice@example.com\n"
                                      "        role: manage\n", "    members: alice\n"),
     "8:5", "calendars.team.members: Input should be a valid list"),
    ("unknown-role", GOOD.replace("role: manage", "role: owner"), "10:9",
     "calendars.team.members[0].role: Input should be 'manage', 'write', 'read' or 'free_busy'"),
    ("two-principals", GOOD.replace("      - user: alice@example.com\n",
                                    "      - user: alice@example.com\n        group: eng\n"),
     "9:9", "exactly one of 'user', 'group' or 'orgunit'"),
    ("no-principal", GOOD.replace("      - user: alice@example.com\n        role: manage\n",
                                  "      - role: manage\n"),
     "9:9", "exactly one of 'user', 'group' or 'orgunit'"),
    ("name-too-long", GOOD.replace("name: Team", "name: " + "x" * 51), "7:5",
     "name is 51 characters; lineworks allows at most 50"),
    ("description-too-long",
     GOOD.replace("    name: Team\n", "    name: Team\n    description: " + "d" * 1001 + "\n"),
     "8:5", "description is 1001 characters; lineworks allows at most 1000"),
    ("duplicate-member", GOOD + "      - user: ALICE@example.com\n        role: read\n", "11:9",
     "member 'user:alice@example.com' is listed twice"),
    ("unknown-provider", GOOD.replace("provider: works", "provider: office"), "6:5",
     "unknown provider 'office' (known: works)"),
    ("unknown-provider-type", GOOD.replace("type: lineworks", "type: outlook"), "3:5",
     "providers.works.type: unknown provider type outlook (known: lineworks, onlyoffice)"),
    ("bad-key", GOOD.replace("  team:", "  Team Calendar:"), "5:3",
     "invalid key 'Team Calendar'"),
    ("state-unknown", GOOD.replace("    name: Team\n", "    name: Team\n    state: gone\n"),
     "8:5", "Input should be 'present' or 'absent'"),
    ("calendars-not-mapping", "calendars:\n  - team\n", "1:1",
     "calendars: Input should be a valid dictionary"),
    ("two-documents", GOOD + "---\n" + GOOD, "11:1", "YAML syntax error"),
    ("same-name-twice", GOOD + "  team2:\n    provider: works\n    name: Team\n", "13:5",
     "same name and neither pins an id"),
    ("same-id-twice", GOOD.replace("    name: Team\n", "    id: c1\n    name: Team\n")
     + "  team2:\n    provider: works\n    id: c1\n    name: Other\n", "14:5",
     "calendar id 'c1' is also pinned by 'team'"),
    ("anchor-unknown", "calendars: *nothing\n", "1:12", "found undefined alias"),
]


def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "where", "message"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_input_is_located(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load([path])
    rendered = [str(p) for p in info.value.problems]
    assert any(r.startswith(f"{path}:{where}: ") and message in r for r in rendered), rendered


def test_good_input_loads(tmp_path: Path) -> None:
    loaded = load([write(tmp_path, GOOD, "good.yaml")])
    assert loaded.desired.calendars["team"].members[0].principal == "user:alice@example.com"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("role: manage", "role: owner").replace("name: Team", "name: Team\n    x: 1")
    with pytest.raises(ConfigError) as info:
        load([write(tmp_path, text)])
    assert len(info.value.problems) == 2


def test_key_defined_twice_across_files_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, GOOD, "a.yaml")
    second = write(tmp_path, "calendars:\n  team:\n    provider: works\n    name: T2\n", "b.yaml")
    with pytest.raises(ConfigError) as info:
        load([tmp_path])
    [problem] = info.value.problems
    assert str(problem) == (
        f"{second}:2:3: calendar 'team' is defined twice: here and at {first}:5:3"
    )


def test_directory_is_merged_recursively_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    write(tmp_path, "providers:\n  works:\n    type: lineworks\n", "providers.yml")
    write(tmp_path / "sub", "calendars:\n  a:\n    provider: works\n    name: A\n", "a.yaml")
    write(tmp_path / ".hidden", "this: is: not: loaded\n", "x.yaml")
    write(tmp_path, "not yaml at all", "notes.txt")
    loaded = load([tmp_path])
    assert list(loaded.desired.calendars) == ["a"]
    assert len(loaded.files) == 2


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as info:
        load([tmp_path / "nope.yaml", tmp_path / "empty"])
    messages = [p.message for p in info.value.problems]
    assert messages == ["no such file or directory", "no *.yaml or *.yml files in directory"]


def test_empty_file_is_an_empty_document(tmp_path: Path) -> None:
    loaded = load([write(tmp_path, "# only a comment\n")])
    assert loaded.desired.calendars == {}


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    lines.append("calendars: *a9")
    with pytest.raises(ConfigError, match="alias bomb"):
        load([write(tmp_path, "\n".join(lines) + "\n")])


def test_not_utf8_and_binary_garbage(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("calendars:\n  t:\n    name: Caf\xe9\n".encode("latin-1"))
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"calendars:\n\x00\x01\x02\xff")
    with pytest.raises(ConfigError) as info:
        load([latin, garbage])
    rendered = [str(p) for p in info.value.problems]
    assert rendered[0] == f"{latin}:3:14: file is not UTF-8 text"
    assert rendered[1] == f"{garbage}:2:4: file is not UTF-8 text"


def test_control_characters_are_located(tmp_path: Path) -> None:
    path = write(tmp_path, "calendars:\n  t: \x07\n")
    with pytest.raises(ConfigError) as info:
        load([path])
    assert str(info.value.problems[0]).startswith(f"{path}:2:6: not YAML text")


def test_merge_keys_are_supported(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        providers:
          works: {type: lineworks}
        calendars:
          a: &base
            provider: works
            name: A
            public: true
          b:
            <<: *base
            name: B
        """)
    loaded = load([write(tmp_path, text)])
    assert loaded.desired.calendars["b"].public is True
