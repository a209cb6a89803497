"""A fake GitHub REST API on loopback: issues, issue comments, labels; enough for calrecon's
pull-request comment and drift issue. Records every request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

TOKEN = "ghs_faketoken0123456789"
BODY_LIMIT = 65_536  # GitHub's "body is too long (maximum is 65536 characters)"


class FakeGitHub:
    def __init__(self) -> None:
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.next_id = 100
        self.urls = Map([
            Rule("/repos/<owner>/<repo>/issues", endpoint="issues", methods=["GET", "POST"]),
            Rule("/repos/<owner>/<repo>/issues/<int:number>", endpoint="issue",
                 methods=["PATCH"]),
            Rule("/repos/<owner>/<repo>/issues/<int:number>/comments", endpoint="comments",
                 methods=["GET", "POST"]),
            Rule("/repos/<owner>/<repo>/issues/comments/<int:cid>", endpoint="comment",
                 methods=["PATCH"]),
        ])

    def add_issue(self, title: str, labels: list[str], pull_request: bool = False) -> int:
        number = self._id()
        self.issues[number] = {"number": number, "title": title, "body": "", "state": "open",
                               "labels": [{"name": n} for n in labels]}
        if pull_request:
            self.issues[number]["pull_request"] = {}
        return number

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response('{"message": "Bad credentials"}', 401)(environ, start_response)
        endpoint, args = self.urls.bind_to_environ(environ).match()
        body = json.loads(request.get_data() or b"null")
        if isinstance(body, dict) and len(str(body.get("body", ""))) > BODY_LIMIT:
            refused = {"message": "Validation Failed", "errors": [{
                "resource": "IssueComment", "code": "custom", "field": "body",
                "message": f"body is too long (maximum is {BODY_LIMIT} characters)"}]}
            return Response(json.dumps(refused), 422, mimetype="application/json")(
                environ, start_response)
        result = getattr(self, f"on_{endpoint}")(request, body, **args)
        status = 201 if request.method == "POST" else 200
        return Response(json.dumps(result), status, mimetype="application/json")(
            environ, start_response)

    def on_issues(self, request: Request, body: Any, owner: str, repo: str) -> Any:
        if request.method == "POST":
            number = self.add_issue(body["title"], body.get("labels", []))
            self.issues[number]["body"] = body["body"]
            return self.issues[number]
        label, state = request.args.get("labels"), request.args.get("state", "open")
        page, per = int(request.args.get("page", 1)), int(request.args.get("per_page", 30))
        found = [i for i in self.issues.values() if i["state"] == state
                 and (not label or label in [lb["name"] for lb in i["labels"]])]
        return found[(page - 1) * per: page * per]

    def on_issue(self, request: Request, body: Any, owner: str, repo: str, number: int) -> Any:
        self.issues[number].update(body)
        return self.issues[number]

    def on_comments(self, request: Request, body: Any, owner: str, repo: str,
                    number: int) -> Any:
        if request.method == "POST":
            cid = self._id()
            self.comments[cid] = {"id": cid, "issue": number, "body": body["body"]}
            return self.comments[cid]
        page, per = int(request.args.get("page", 1)), int(request.args.get("per_page", 30))
        found = [c for c in self.comments.values() if c["issue"] == number]
        return found[(page - 1) * per: page * per]

    def on_comment(self, request: Request, body: Any, owner: str, repo: str, cid: int) -> Any:
        self.comments[cid]["body"] = body["body"]
        return self.comments[cid]


@contextmanager
def serve() -> Iterator[tuple[FakeGitHub, str]]:
    fake = FakeGitHub()
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    import threading
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
