"""GitHub integration: the pull-request plan comment and the drift issue (REST API)."""
