"""Store a conversation's working memory and read it back."""

from memspec import ConversationMemoryType, IMemoryInput, IWorkingMemory
from memspec.reference import InMemoryManager

memory_manager = InMemoryManager(ttl=3600)

key = memory_manager.store(
    IMemoryInput(
        conversation_id="conv_123",
        memory_type=ConversationMemoryType.WORKING_MEMORY,
        data=[IWorkingMemory(working_memory="User's name is Alice")],
        metadata={"source": "user_preference"},
    )
)
print(f"Stored memory with key: {key}")

memories = memory_manager.retrieve(IMemoryInput(conversation_id="conv_123"))
print(f"Retrieved: {memories[0].working_memory}")
