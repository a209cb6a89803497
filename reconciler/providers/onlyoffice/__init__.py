"""ONLYOFFICE Community Server / Workspace calendar API (shared/providers.md §1)."""
