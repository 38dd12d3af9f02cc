"""An agent that remembers: WorkingMemoryAgent on an in-memory manager.

Needs an OpenAI-compatible endpoint: OPENAI_API_KEY, and OPENAI_BASE_URL for anything but
OpenAI itself. OPENAI_MODEL picks the model (default gpt-4o-mini). Offline, run it under the
stub server that ships with memspec:

    python -m memspec.reference.stub_llm python examples/agent_with_memory.py

When the LLM cannot be reached, the agent reports the error for each message, nothing is
remembered, and the script says so and exits with status 1.
"""

import asyncio
import os
import sys

from memspec import IMemoryInput
from memspec.reference import (
    IAgentInput,
    ILLMConfig,
    InMemoryManager,
    OpenAIClient,
    WorkingMemoryAgent,
)


async def main() -> int:
    llm_client = OpenAIClient(ILLMConfig(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini")))
    memory_manager = InMemoryManager()
    agent = WorkingMemoryAgent(llm_client=llm_client, memory_manager=memory_manager)
    try:
        for message in ["My name is Bob and I like Python", "I also like hiking"]:
            status = await agent.process(
                IAgentInput(message=message, metadata={"conversation_id": "conv_123"})
            )
            print(f"{message!r}: {status}")
    finally:
        await llm_client.aclose()

    memory = memory_manager.retrieve(IMemoryInput(conversation_id="conv_123"))
    if not memory:
        print("No working memory was stored: every LLM call failed (see the errors above).")
        return 1
    print("Working memory now:")
    print(memory[0].working_memory)
    return 0


sys.exit(asyncio.run(main()))
