"""WorkingMemoryAgent: the agent that keeps a conversation's working memory up to date.

For each message it reads the conversation's working memory, asks the LLM for the updated
memory given the current one and the message, and writes the answer back through any memory
manager, sync or async. A failed read, a failed LLM call or an empty answer never overwrites
the stored memory.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from memspec.errors import MemoryBackendError
from memspec.models import ConversationMemoryType, IMemoryInput, IWorkingMemory
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "DEFAULT_SYSTEM_PROMPT",
    "ILLM",
    "INITIAL_MEMORY",
    "IAgentInput",
    "ILLMConfig",
    "ILLMInput",
    "LLMError",
    "WorkingMemoryAgent",
    "describe_error",
]

#: What the agent tells the LLM its job is, unless given another prompt.
DEFAULT_SYSTEM_PROMPT = (
    "You maintain the working memory of one conversation: a short, factual summary of what "
    "the user has said that matters later (names, preferences, goals, open questions). You "
    "receive the current working memory and a new message. Answer with the complete updated "
    "working memory and nothing else: keep what still holds, add what is new, drop what the "
    "message contradicts."
)

#: The memory shown to the LLM for a conversation that has none yet.
INITIAL_MEMORY = "(no working memory yet)"


class ILLMConfig(BaseModel):
    """Which model to call and how."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = Field(min_length=1, description="Model name, e.g. gpt-4o-mini.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature.")


class ILLMInput(BaseModel):
    """One request to the LLM: the instructions and the user's turn."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    system_prompt: str = Field(description="Instructions for the model.")
    user_message: str = Field(description="The turn to answer.")


class IAgentInput(BaseModel):
    """A message for an agent; ``metadata["conversation_id"]`` names the conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message: str = Field(description="The user's message.")
    metadata: dict[str, Any] | None = Field(
        default=None, description="Must hold 'conversation_id' for the memory agent."
    )


class LLMError(RuntimeError):
    """An LLM call failed. Its message holds no credentials (the client scrubs its key and
    its URL's secrets), so the agent may show it; ``status_code`` is the HTTP status, if any."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def describe_error(exc: BaseException) -> str:
    """What an agent result may say about ``exc``: the message of errors whose messages are
    credential-free by contract (:class:`LLMError`, :class:`~memspec.MemoryBackendError`,
    ``ValueError`` for a refused input), only the exception's type for anything else, since
    another library's message may echo a key or a password."""
    if isinstance(exc, LLMError):
        return str(exc)
    if isinstance(exc, MemoryBackendError | ValueError):
        return f"{type(exc).__name__}: {exc}"
    return type(exc).__name__


@runtime_checkable
class ILLM(Protocol):
    """An LLM client: ``chat`` answers with a mapping holding ``"llm_response"``."""

    async def chat(self, input: ILLMInput) -> Mapping[str, Any]:
        """Answer one request."""
        ...


class WorkingMemoryAgent:
    """Keeps a conversation's working memory with an LLM and any certified memory manager.

    ``process`` returns ``"success"`` or ``"error: <reason>"``. Two ``process`` calls for the
    same conversation are serialised inside this agent, so neither update is lost; across
    processes (two agents, one Redis) the last write wins, as the contract says.
    """

    def __init__(
        self,
        llm_client: ILLM,
        memory_manager: Any,
        system_prompt: str | None = None,
        *,
        memory_type: ConversationMemoryType = ConversationMemoryType.WORKING_MEMORY,
    ) -> None:
        if not callable(getattr(llm_client, "chat", None)):
            raise TypeError("llm_client needs an async chat(ILLMInput) method")
        missing = [
            op
            for op in ("store", "retrieve", "update")
            if not callable(getattr(memory_manager, op, None))
        ]
        if missing:
            raise TypeError(f"memory_manager lacks {', '.join(missing)}: give an IMemoryManager")
        self.llm_client = llm_client
        self.memory_manager = memory_manager
        self.system_prompt = system_prompt or DEFAULT_SYSTEM_PROMPT
        self.memory_type = memory_type
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def process(self, input: IAgentInput) -> str:
        """Update the conversation's working memory with ``input.message``."""
        conversation_id = (input.metadata or {}).get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            return "error: metadata has no conversation_id"
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        async with lock:
            return await self._update(conversation_id, input.message)

    async def _update(self, conversation_id: str, message: str) -> str:
        slot = IMemoryInput(conversation_id=conversation_id, memory_type=self.memory_type)
        try:
            current = await self._call("retrieve", slot)
        except Exception as exc:
            return f"error: could not read the working memory: {describe_error(exc)}"
        existing = "\n".join(item.working_memory for item in current)
        request = ILLMInput(
            system_prompt=self.system_prompt,
            user_message=(
                f"Current working memory:\n{existing or INITIAL_MEMORY}\n\n"
                f"New message:\n{message}\n\nThe updated working memory:"
            ),
        )
        try:
            answer = await self.llm_client.chat(request)
        except Exception as exc:
            return f"error: the LLM call failed: {describe_error(exc)}"
        text = answer.get("llm_response") if isinstance(answer, Mapping) else None
        if not isinstance(text, str) or not text.strip():
            return "error: the LLM returned no working memory"
        write = IMemoryInput(
            conversation_id=conversation_id,
            memory_type=self.memory_type,
            data=[IWorkingMemory(working_memory=text.strip())],
        )
        try:
            # A slot that expired while the LLM was answering makes update a no-op; the
            # window is the length of one LLM call against a TTL of hours.
            await self._call("update" if current else "store", write)
        except Exception as exc:
            return f"error: could not store the working memory: {describe_error(exc)}"
        return "success"

    async def _call(self, operation: str, request: IMemoryInput) -> Any:
        method = getattr(self.memory_manager, operation)
        if inspect.iscoroutinefunction(method):
            return await method(request)
        return method(request)
