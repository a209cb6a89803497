"""Loopback emulators of the provider APIs; the other side of the wire (never imports providers)."""
