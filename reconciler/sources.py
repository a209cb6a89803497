"""Where each value of the desired state was written: ``file:line:col`` by YAML path.

The loader records them; validation, the github output format and every error message read
them. A module of its own so that the loader and the checks it runs need not import each
other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reconciler.errors import Problem

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Sources:
    """Where each value of the merged desired state was written, keyed by its path.

    Paths are tuples as pydantic reports them: ``("calendars", "team", "members", 0, "role")``.
    """

    locations: dict[YamlPath, Location] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int]) -> Location | None:
        """The location of ``path``, or of its nearest written ancestor."""
        key = tuple(path)
        while True:
            if key in self.locations:
                return self.locations[key]
            if not key:
                return None
            key = key[:-1]

    def problem(self, path: Sequence[str | int], message: str, fallback: str = "") -> Problem:
        loc = self.locate(path)
        if loc is None:
            return Problem(fallback, 0, 0, message)
        return Problem(loc.file, loc.line, loc.col, message)
