"""A small OpenAI-compatible Chat Completions server on loopback, for examples and tests.

It runs :class:`~memspec.reference.WorkingMemoryAgent` (through
:class:`~memspec.reference.OpenAIClient`) with no network, no key and no model. Its "model" is
deterministic: it answers with the current working memory from the agent's prompt plus one line
naming the new message, so a reader (or a test) can see that each request carried both. The
server records every request it served.

From the command line::

    python -m memspec.reference.stub_llm                  # serve until Ctrl-C, print the URL
    python -m memspec.reference.stub_llm python examples/agent_with_memory.py

With a command, it serves while that command runs, with ``OPENAI_BASE_URL`` pointing at it and
``OPENAI_API_KEY`` set to a dummy value, and exits with the command's status.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["StubLLMServer", "answer", "base_url", "main", "serving"]

#: Only loopback: the stub is for one machine's examples and tests.
LOOPBACK = "127.0.0.1"


def answer(user_message: str) -> str:
    """The deterministic 'model': keep the memory from the prompt, add a line about the new
    message (the prompt layout is :class:`~memspec.reference.WorkingMemoryAgent`'s)."""
    memory = user_message.split("Current working memory:\n", 1)[-1].split("\n\nNew message:", 1)[0]
    message = user_message.split("New message:\n", 1)[-1].split("\n\n", 1)[0]
    lines = [] if memory.startswith("(no working memory") else memory.splitlines()
    return "\n".join([*lines, f"user said: {message}"])


class _Handler(BaseHTTPRequestHandler):
    server: StubLLMServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the examples' own output is what a reader wants to see."""

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
            self._send_json(401, error)
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
        self._send_json(200, payload)

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class StubLLMServer(ThreadingHTTPServer):
    """The stub server; ``requests`` lists every request it served, in order."""

    def __init__(self, port: int = 0) -> None:
        super().__init__((LOOPBACK, port), _Handler)
        self.requests: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        """The OpenAI base URL to give a client (``OPENAI_BASE_URL``)."""
        return f"http://{LOOPBACK}:{self.server_address[1]}/v1"


@contextmanager
def serving(port: int = 0) -> Iterator[StubLLMServer]:
    """Run the server on ``port`` (0: a free one) of loopback for the duration of the block."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, not {port}")
    server = StubLLMServer(port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def base_url(server: StubLLMServer) -> str:
    """The OpenAI base URL of a running server."""
    return server.base_url


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted, or while a command runs; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m memspec.reference.stub_llm",
        description="A deterministic OpenAI-compatible chat server on loopback, for examples.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: free)")
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="a command to run with OPENAI_BASE_URL and OPENAI_API_KEY set; the server stops "
        "when it ends",
    )
    args = parser.parse_args(argv)
    with serving(args.port) as server:
        if not args.command:
            print(f"export OPENAI_BASE_URL={server.base_url} OPENAI_API_KEY=stub", flush=True)
            with suppress(KeyboardInterrupt):
                threading.Event().wait()
            return 0
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "stub"}
        return subprocess.run(args.command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
