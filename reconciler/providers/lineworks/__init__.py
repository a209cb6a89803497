"""LINE WORKS API 2.0 calendars (shared/providers.md §2)."""
