"""Cronofy API v1: managed events and edits of external events (shared/providers.md §3)."""
