"""A small OpenAI-compatible Chat Completions server on loopback, for tests and examples.

Its "model" answers with the current memory plus one line naming the new message, so a test
can see that the request carried both. It records every request it served.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def answer(user_message: str) -> str:
    """The deterministic 'model': keep the memory, add a line about the new message."""
    memory = user_message.split("Current working memory:\n", 1)[-1].split("\n\nNew message:", 1)[0]
    message = user_message.split("New message:\n", 1)[-1].split("\n\n", 1)[0]
    lines = [] if memory.startswith("(no working memory") else memory.splitlines()
    return "\n".join([*lines, f"user said: {message}"])


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(
            {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
        )
        if self.path.split("?", 1)[0] != "/v1/chat/completions":
            self.send_error(404)
            return
        if body["model"] == "echo-key":  # as a real API does for a wrong key: it echoes it
            auth = self.headers.get("Authorization", "")
            error = {"error": {"message": f"Incorrect API key provided: {auth} ({self.path})"}}
            data = json.dumps(error).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        payload = {
            "id": "chatcmpl-local",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": answer(user)},
                }
            ],
            "usage": {
                "prompt_tokens": len(user.split()),
                "completion_tokens": 5,
                "total_tokens": 5 + len(user.split()),
            },
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    requests: list[dict[str, Any]]


@contextmanager
def serving() -> Iterator[_Server]:
    """Run the server on a free loopback port for the duration of the block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: _Server) -> str:
    """The OpenAI base URL of a running server."""
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


if __name__ == "__main__":
    with serving() as running:
        print(base_url(running), flush=True)
        threading.Event().wait()
