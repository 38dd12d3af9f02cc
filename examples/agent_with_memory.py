"""An agent that remembers: WorkingMemoryAgent on an in-memory manager.

Needs an OpenAI-compatible endpoint: OPENAI_API_KEY, and OPENAI_BASE_URL for anything but
OpenAI itself. OPENAI_MODEL picks the model (default gpt-4o-mini).
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


async def main() -> None:
    llm_client = OpenAIClient(ILLMConfig(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini")))
    memory_manager = InMemoryManager()
    agent = WorkingMemoryAgent(llm_client=llm_client, memory_manager=memory_manager)

    for message in ["My name is Bob and I like Python", "I also like hiking"]:
        status = await agent.process(
            IAgentInput(message=message, metadata={"conversation_id": "conv_123"})
        )
        print(f"{message!r}: {status}")

    memory = memory_manager.retrieve(IMemoryInput(conversation_id="conv_123"))
    print("Working memory now:")
    print(memory[0].working_memory)
    await llm_client.aclose()


asyncio.run(main())
