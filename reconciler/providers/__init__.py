"""Provider implementations. Each lives in its own package and never imports another."""
