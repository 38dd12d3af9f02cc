"""WorkingMemoryAgent: every return path, concurrency, the HTTP client, the examples."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock

import pytest
from conftest import RedisServer
from memspec import IMemoryInput
from memspec.reference import (
    AsyncInMemoryManager,
    IAgentInput,
    ILLMConfig,
    ILLMInput,
    InMemoryManager,
    OpenAIClient,
    SQLiteMemoryManager,
    WorkingMemoryAgent,
)
from memspec.reference.redis import AsyncRedisWorkingMemoryManager, RedisWorkingMemoryManager
from memspec.reference.stub_llm import answer, base_url, serving

ROOT = Path(__file__).resolve().parents[1]


def said(conversation_id: str, message: str = "I like tea") -> IAgentInput:
    return IAgentInput(message=message, metadata={"conversation_id": conversation_id})


def memory(manager: Any, conversation_id: str) -> list[str]:
    result = manager.retrieve(IMemoryInput(conversation_id=conversation_id))
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return [item.working_memory for item in result]


class EchoLLM:
    """Answers with the current memory plus the new message, after an optional pause."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.seen: list[ILLMInput] = []

    async def chat(self, input: ILLMInput) -> Mapping[str, Any]:
        self.seen.append(input)
        await asyncio.sleep(self.pause)
        return {"llm_response": answer(input.user_message)}


def test_mock_llm_memory_is_stored_and_retrievable() -> None:
    llm = AsyncMock()
    llm.chat.return_value = {"llm_response": "The user's name is Bob."}
    manager = InMemoryManager()
    agent = WorkingMemoryAgent(llm_client=llm, memory_manager=manager)
    assert asyncio.run(agent.process(said("c", "My name is Bob"))) == "success"
    assert memory(manager, "c") == ["The user's name is Bob."]
    (request,) = llm.chat.call_args.args
    assert (
        "My name is Bob" in request.user_message
        and "(no working memory yet)" in request.user_message
    )


def test_second_message_updates_with_the_current_memory() -> None:
    llm, manager = EchoLLM(), InMemoryManager()
    agent = WorkingMemoryAgent(llm_client=llm, memory_manager=manager, system_prompt="Be brief.")
    asyncio.run(agent.process(said("c", "first")))
    asyncio.run(agent.process(said("c", "second")))
    assert memory(manager, "c") == ["user said: first\nuser said: second"]
    assert (
        "user said: first" in llm.seen[1].user_message and llm.seen[1].system_prompt == "Be brief."
    )


@pytest.mark.parametrize("metadata", [None, {}, {"conversation_id": ""}, {"conversation_id": 5}])
def test_no_conversation_id_is_an_error(metadata: Any) -> None:
    agent = WorkingMemoryAgent(llm_client=EchoLLM(), memory_manager=InMemoryManager())
    assert asyncio.run(agent.process(IAgentInput(message="x", metadata=metadata))) == (
        "error: metadata has no conversation_id"
    )


class Failing:
    """An LLM or manager method that raises."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def chat(self, input: ILLMInput) -> Mapping[str, Any]:
        raise self.error


@pytest.mark.parametrize(
    ("llm", "expected"),
    [
        (Failing(TimeoutError("model timed out")), "error: the LLM call failed: TimeoutError"),
        (
            AsyncMock(chat=AsyncMock(return_value={"llm_response": "  "})),
            "error: the LLM returned no working memory",
        ),
        (
            AsyncMock(chat=AsyncMock(return_value={"other": 1})),
            "error: the LLM returned no working memory",
        ),
    ],
)
def test_llm_failures_never_overwrite_the_memory(llm: Any, expected: str) -> None:
    manager = InMemoryManager()
    asyncio.run(
        WorkingMemoryAgent(llm_client=EchoLLM(), memory_manager=manager).process(said("c", "kept"))
    )
    agent = WorkingMemoryAgent(llm_client=llm, memory_manager=manager)
    assert asyncio.run(agent.process(said("c"))) == expected
    assert memory(manager, "c") == ["user said: kept"]


class BrokenManager(InMemoryManager):
    def __init__(self, broken: str) -> None:
        super().__init__()
        self.broken = broken

    def retrieve(self, input: Any) -> Any:
        if self.broken == "retrieve":
            raise ConnectionError("backend down")
        return super().retrieve(input)

    def store(self, input: Any) -> str:
        if self.broken == "store":
            raise ConnectionError("backend down")
        return super().store(input)


def test_a_failed_read_writes_nothing_and_a_failed_write_is_reported() -> None:
    reading = BrokenManager("retrieve")
    llm = EchoLLM()
    agent = WorkingMemoryAgent(llm_client=llm, memory_manager=reading)
    assert (
        asyncio.run(agent.process(said("c")))
        == "error: could not read the working memory: ConnectionError"
    )
    assert llm.seen == []
    writing = BrokenManager("store")
    agent = WorkingMemoryAgent(llm_client=EchoLLM(), memory_manager=writing)
    assert (
        asyncio.run(agent.process(said("c")))
        == "error: could not store the working memory: ConnectionError"
    )


def test_two_concurrent_messages_both_land() -> None:
    manager = AsyncInMemoryManager()
    agent = WorkingMemoryAgent(llm_client=EchoLLM(pause=0.05), memory_manager=manager)

    async def both() -> list[str]:
        return await asyncio.gather(
            agent.process(said("c", "one")), agent.process(said("c", "two"))
        )

    assert asyncio.run(both()) == ["success", "success"]
    (text,) = memory(manager, "c")
    assert sorted(text.splitlines()) == ["user said: one", "user said: two"]


def test_bad_collaborators_are_refused() -> None:
    with pytest.raises(TypeError, match="chat"):
        WorkingMemoryAgent(llm_client=object(), memory_manager=InMemoryManager())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="store, retrieve, update"):
        WorkingMemoryAgent(llm_client=EchoLLM(), memory_manager=object())


@pytest.fixture
def manager_factories(redis_server: RedisServer, tmp_path: Path) -> dict[str, Callable[[], Any]]:
    return {
        "in-memory": InMemoryManager,
        "async in-memory": AsyncInMemoryManager,
        "sqlite": lambda: SQLiteMemoryManager(tmp_path / "agent.db"),
        "redis": lambda: RedisWorkingMemoryManager(
            redis_server.url, namespace=f"agent-{os.getpid()}"
        ),
        "async redis": lambda: AsyncRedisWorkingMemoryManager(
            redis_server.url, namespace=f"agent-async-{os.getpid()}"
        ),
    }


@pytest.mark.parametrize("kind", ["in-memory", "async in-memory", "sqlite", "redis", "async redis"])
def test_the_agent_works_unchanged_on_every_manager(
    kind: str, manager_factories: dict[str, Callable[[], Any]]
) -> None:
    manager = manager_factories[kind]()
    agent = WorkingMemoryAgent(llm_client=EchoLLM(), memory_manager=manager)

    async def conversation() -> list[str]:
        results = [await agent.process(said("shared", m)) for m in ("one", "two")]
        items = manager.retrieve(IMemoryInput(conversation_id="shared"))
        items = await items if asyncio.iscoroutine(items) else items
        delete = manager.delete(IMemoryInput(conversation_id="shared"))
        if asyncio.iscoroutine(delete):
            await delete
        closer = getattr(manager, "aclose", None) or getattr(manager, "close", None)
        if closer is not None:
            done = closer()
            if asyncio.iscoroutine(done):
                await done
        return [*results, *(i.working_memory for i in items)]

    assert asyncio.run(conversation()) == ["success", "success", "user said: one\nuser said: two"]


@pytest.fixture
def openai_endpoint() -> Iterator[Any]:
    with serving() as server:
        yield server


def test_openai_client_round_trip_over_http(openai_endpoint: Any) -> None:
    client = OpenAIClient(
        ILLMConfig(model="local-model", temperature=0.2),
        api_key="test-key",
        base_url=base_url(openai_endpoint),
    )
    manager = InMemoryManager()
    agent = WorkingMemoryAgent(llm_client=client, memory_manager=manager)

    async def talk() -> str:
        try:
            return await agent.process(said("http", "I live in Lisbon"))
        finally:
            await client.aclose()

    assert asyncio.run(talk()) == "success"
    assert memory(manager, "http") == ["user said: I live in Lisbon"]
    (request,) = openai_endpoint.requests
    assert request["auth"] == "Bearer test-key"
    assert request["body"]["model"] == "local-model" and request["body"]["temperature"] == 0.2
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]
    assert "test-key" not in repr(client)


@pytest.mark.parametrize(
    ("example", "environment", "expected"),
    [
        ("basic_store_retrieve.py", {}, "Retrieved: User's name is Alice"),
        ("agent_with_memory.py", {"openai": "yes"}, "user said: I also like hiking"),
        ("multi_conversation.py", {"openai": "yes"}, 'conv_2 remembers: "user said: I\'m Bob"'),
        ("dev_prod_switch.py", {"ENVIRONMENT": "development"}, "InMemoryManager ['likes tea']"),
        (
            "dev_prod_switch.py",
            {"ENVIRONMENT": "production", "redis": "yes"},
            "RedisWorkingMemoryManager ['likes tea']",
        ),
    ],
)
def test_examples_run_as_examples_readme_says(
    example: str, environment: dict[str, str], expected: str, redis_server: RedisServer
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "REDIS"))}
    env.update({k: v for k, v in environment.items() if k.isupper()})
    command = [sys.executable, f"examples/{example}"]
    if "openai" in environment:  # the documented command: the stub server runs the example
        command = [sys.executable, "-m", "memspec.reference.stub_llm", *command]
        readme = (ROOT / "examples" / "README.md").read_text("utf-8")
        assert f"`python -m memspec.reference.stub_llm python examples/{example}`" in readme
    if "redis" in environment:
        env["REDIS_URL"] = redis_server.url
    run = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    assert expected in run.stdout


def test_agent_example_says_so_when_the_llm_is_unreachable() -> None:
    with socket.socket() as closed:  # a loopback port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI")}
    env.update(OPENAI_API_KEY="k", OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1")
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "agent_with_memory.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr, run.stderr
    assert "error: the LLM call failed" in run.stdout
    assert "No working memory was stored" in run.stdout


def test_dev_prod_switch_never_guesses_a_redis_server() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("ENVIRONMENT", "REDIS_URL")}
    run = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "dev_prod_switch.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "set ENVIRONMENT=development" in run.stderr and "REDIS_URL" in run.stderr


def test_the_stub_server_prints_where_it_serves_and_passes_on_the_exit_status() -> None:
    probe = "import os, sys; print(os.environ['OPENAI_BASE_URL']); sys.exit(3)"
    run = subprocess.run(
        [sys.executable, "-m", "memspec.reference.stub_llm", sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 3
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1\n", run.stdout)
    with pytest.raises(ValueError, match="port must be between"), serving(70000):
        pass


@pytest.mark.requirement("MM-SEC-001")
def test_an_llm_error_echoing_the_key_reaches_no_result_repr_or_log(
    openai_endpoint: Any, caplog: pytest.LogCaptureFixture
) -> None:
    key, token = "sk-Very-Secret-Key-123", "Query-Token-456"
    port = openai_endpoint.server_address[1]
    client = OpenAIClient(
        ILLMConfig(model="echo-key"),
        api_key=key,
        base_url=f"http://user:Url-Pa55@127.0.0.1:{port}/v1",
        max_retries=0,
    )
    with_query = OpenAIClient(
        ILLMConfig(model="m"), api_key=key, base_url=f"http://[::1]:{port}/v1?api_key={token}"
    )
    manager = InMemoryManager()
    agent = WorkingMemoryAgent(llm_client=client, memory_manager=manager)

    async def talk() -> str:
        try:
            return await agent.process(said("c", "hello"))
        finally:
            await client.aclose()

    with caplog.at_level(logging.DEBUG):
        result = asyncio.run(talk())
    assert result.startswith("error: the LLM call failed: AuthenticationError:"), result
    # The server echoed the Basic credentials httpx made of the URL's user information.
    assert "Incorrect API key provided: Basic ***" in result
    shown = [result, repr(client), str(client), repr(with_query), caplog.text]
    for secret in (key, token, "Url-Pa55"):
        assert all(secret not in text for text in shown), secret
    assert "POST http://user:***@127.0.0.1" in caplog.text  # the HTTP client's own log line
    assert repr(client) == (
        f"OpenAIClient(model='echo-key', base_url='http://user:***@127.0.0.1:{port}/v1/')"
    )
    assert repr(with_query) == (
        f"OpenAIClient(model='m', base_url='http://[::1]:{port}/v1/?api_key=***')"
    )
    asyncio.run(with_query.aclose())
    assert memory(manager, "c") == []  # nothing written
