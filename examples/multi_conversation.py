"""One memory manager, one agent per conversation: each conversation keeps its own memory.

Needs an OpenAI-compatible endpoint (OPENAI_API_KEY, OPENAI_BASE_URL); offline, run it under
the stub server that ships with memspec:

    python -m memspec.reference.stub_llm python examples/multi_conversation.py
"""

import asyncio
import os

from memspec import IMemoryInput
from memspec.reference import (
    IAgentInput,
    ILLMConfig,
    InMemoryManager,
    OpenAIClient,
    WorkingMemoryAgent,
)


class ConversationManager:
    """Keeps an agent per conversation over one shared memory manager."""

    def __init__(self) -> None:
        self.memory_manager = InMemoryManager(ttl=3600)
        self.llm_client = OpenAIClient(
            ILLMConfig(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))
        )
        self.agents: dict[str, WorkingMemoryAgent] = {}

    async def process_message(self, user_id: str, conversation_id: str, message: str) -> str:
        agent = self.agents.get(conversation_id)
        if agent is None:
            agent = self.agents[conversation_id] = WorkingMemoryAgent(
                llm_client=self.llm_client, memory_manager=self.memory_manager
            )
        return await agent.process(
            IAgentInput(
                message=message, metadata={"conversation_id": conversation_id, "user_id": user_id}
            )
        )

    def memory_of(self, conversation_id: str) -> str:
        items = self.memory_manager.retrieve(IMemoryInput(conversation_id=conversation_id))
        return items[0].working_memory if items else ""


async def main() -> None:
    manager = ConversationManager()
    await manager.process_message("user_1", "conv_1", "I'm Alice")
    await manager.process_message("user_2", "conv_2", "I'm Bob")
    print(f"conv_1 remembers: {manager.memory_of('conv_1')!r}")
    print(f"conv_2 remembers: {manager.memory_of('conv_2')!r}")
    await manager.llm_client.aclose()


asyncio.run(main())
