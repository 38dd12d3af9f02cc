"""The same code on two managers: in-memory in development, Redis in production.

ENVIRONMENT=development picks InMemoryManager. Otherwise the Redis manager (the redis extra)
connects to REDIS_URL, which must then be set: the example never guesses a server.

    ENVIRONMENT=development python examples/dev_prod_switch.py
    REDIS_URL=redis://127.0.0.1:6379/0 python examples/dev_prod_switch.py
"""

import os
import sys

from memspec import IMemoryInput, IWorkingMemory


def make_memory_manager():
    if os.getenv("ENVIRONMENT") == "development":
        from memspec.reference import InMemoryManager

        return InMemoryManager(ttl=3600)
    redis_url = os.getenv("REDIS_URL")
    if not redis_url:
        sys.exit(
            "dev_prod_switch.py: set ENVIRONMENT=development for the in-memory manager, "
            "or REDIS_URL=redis://HOST:PORT/DB for the Redis one"
        )
    from memspec.reference import RedisWorkingMemoryManager

    return RedisWorkingMemoryManager(redis_url, namespace="example-app")


memory_manager = make_memory_manager()
memory_manager.store(
    IMemoryInput(conversation_id="conv_1", data=[IWorkingMemory(working_memory="likes tea")])
)
print(
    type(memory_manager).__name__,
    [m.working_memory for m in memory_manager.retrieve(IMemoryInput(conversation_id="conv_1"))],
)
memory_manager.delete(IMemoryInput(conversation_id="conv_1"))
