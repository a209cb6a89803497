"""The few GitHub REST calls calrecon makes, over the shared HTTP layer (retries, redaction).

``api_url`` comes from ``GITHUB_API_URL`` in Actions (GitHub Enterprise too); tests point it
at a fake GitHub on loopback.
"""

from __future__ import annotations

from typing import Any

from reconciler.errors import ResponseError
from reconciler.http import HttpClient, RetryPolicy

PER_PAGE = 100
MAX_PAGES = 50


class GitHub:
    def __init__(self, repo: str, token: str, api_url: str = "https://api.github.com",
                 policy: RetryPolicy | None = None) -> None:
        self.repo = repo
        self.http = HttpClient(provider="github", base_url=api_url,
                               headers={"Authorization": f"Bearer {token}",
                                        "Accept": "application/vnd.github+json",
                                        "X-GitHub-Api-Version": "2022-11-28"},
                               secret=token, policy=policy,
                               check_egress=False)  # the runner's GITHUB_API_URL, not YAML

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: Any = None,
              params: dict[str, str] | None = None) -> Any:
        response = self.http.request(method, path, address=f"github {self.repo}", json=body,
                                     params=params)
        return response.json() if response.content else None

    def _pages(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._call("GET", path, params={**params, "per_page": str(PER_PAGE),
                                                    "page": str(page)})
            if not isinstance(batch, list):
                raise ResponseError(f"github {self.repo}: GET {path}: expected a list")
            items.extend(batch)
            if len(batch) < PER_PAGE:
                break
        return items

    def issue_comments(self, number: int) -> list[dict[str, Any]]:
        return self._pages(f"/repos/{self.repo}/issues/{number}/comments", {})

    def create_comment(self, number: int, body: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"/repos/{self.repo}/issues/{number}/comments", {"body": body})
        return result

    def update_comment(self, comment_id: int, body: str) -> None:
        self._call("PATCH", f"/repos/{self.repo}/issues/comments/{comment_id}", {"body": body})

    def open_issues(self, label: str) -> list[dict[str, Any]]:
        issues = self._pages(f"/repos/{self.repo}/issues", {"state": "open", "labels": label})
        return [i for i in issues if "pull_request" not in i]  # the API lists PRs as issues

    def create_issue(self, title: str, body: str, labels: list[str]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/repos/{self.repo}/issues",
                                            {"title": title, "body": body, "labels": labels})
        return result

    def update_issue(self, number: int, **fields: Any) -> None:
        self._call("PATCH", f"/repos/{self.repo}/issues/{number}", fields)
