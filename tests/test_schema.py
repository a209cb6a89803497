"""The checked-in JSON Schema matches the model, and the examples satisfy it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from yaml.resolver import Resolver

from reconciler.model import json_schema

ROOT = Path(__file__).resolve().parent.parent


class EditorLoader(yaml.SafeLoader):
    """Reads YAML as a JSON-Schema editor does: dates and times stay strings."""


EditorLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in Resolver.yaml_implicit_resolvers.items()
}
SCHEMA = ROOT / "schemas" / "calrecon.schema.json"


def test_checked_in_schema_is_current() -> None:
    checked_in = json.loads(SCHEMA.read_text())
    assert checked_in == json_schema(), (
        "schemas/calrecon.schema.json is stale: run "
        "'calrecon schema -o schemas/calrecon.schema.json'"
    )


def test_examples_validate_against_schema_and_point_editors_at_it() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    examples = sorted((ROOT / "examples").rglob("*.yaml"))
    assert examples
    for path in examples:
        text = path.read_text()
        if not text.startswith("# yaml-language-server: $schema="):
            continue  # e.g. workflow files
        ref = text.splitlines()[0].split("$schema=", 1)[1]
        assert (path.parent / ref).resolve() == SCHEMA
        errors = list(validator.iter_errors(yaml.load(text, Loader=EditorLoader)))
        assert not errors, (path, [e.message for e in errors])


def test_schema_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    bad = {"calendars": {"t": {"provider": "w", "name": "T",
                               "members": [{"user": "a", "group": "b", "role": "read"}]}}}
    assert list(validator.iter_errors(bad))
    assert list(validator.iter_errors({"calendars": {"t": {"provider": "w", "name": "T",
                                                           "colour": "red"}}}))
