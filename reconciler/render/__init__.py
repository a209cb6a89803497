"""Renderers: each takes a Plan (via its ``to_dict()``) and returns text; none decides anything."""
