"""The same code on two managers: in-memory in development, Redis in production.

ENVIRONMENT=development picks InMemoryManager; anything else picks the Redis manager at
REDIS_URL (the redis extra).
"""

import os

from memspec import IMemoryInput, IWorkingMemory


def make_memory_manager():
    if os.getenv("ENVIRONMENT") == "development":
        from memspec.reference import InMemoryManager

        return InMemoryManager(ttl=3600)
    from memspec.reference import RedisWorkingMemoryManager

    return RedisWorkingMemoryManager(os.getenv("REDIS_URL"), namespace="example-app")


memory_manager = make_memory_manager()
memory_manager.store(
    IMemoryInput(conversation_id="conv_1", data=[IWorkingMemory(working_memory="likes tea")])
)
print(
    type(memory_manager).__name__,
    [m.working_memory for m in memory_manager.retrieve(IMemoryInput(conversation_id="conv_1"))],
)
memory_manager.delete(IMemoryInput(conversation_id="conv_1"))
