"""memspec: the contract for LLM-agent conversation memory managers.

The data model, the manager protocols, the requirement catalogue, the executable model used
as the oracle, the JSON Schemas and the scenario vectors. The conformance suite lives in
:mod:`memspec.conformance`, the reference implementations in :mod:`memspec.reference`.
"""

from __future__ import annotations

from memspec.catalogue import (
    Area,
    Catalogue,
    CatalogueError,
    Level,
    Profile,
    Requirement,
    Scope,
    catalogue,
    load_catalogue,
    requirements,
)
from memspec.errors import MemoryBackendError
from memspec.model import MemoryModel
from memspec.models import (
    MAX_INT_DIGITS,
    MAX_METADATA_DEPTH,
    ConversationMemoryType,
    IMemoryInput,
    IWorkingMemory,
    StoredRecord,
    as_memory_input,
    check_text,
    copy_metadata,
    require_data,
)
from memspec.protocols import IAsyncMemoryManager, IMemoryManager, MemoryItem
from memspec.ttl import (
    DEFAULT_TTL,
    MAX_TTL,
    SHORTEST_TTL,
    TTL_FLOOR,
    Clock,
    validate_clock,
    validate_ttl,
)
from memspec.vectors import Vector, load_vectors

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TTL",
    "MAX_INT_DIGITS",
    "MAX_METADATA_DEPTH",
    "MAX_TTL",
    "SHORTEST_TTL",
    "TTL_FLOOR",
    "Area",
    "Catalogue",
    "CatalogueError",
    "Clock",
    "ConversationMemoryType",
    "IAsyncMemoryManager",
    "IMemoryInput",
    "IMemoryManager",
    "IWorkingMemory",
    "Level",
    "MemoryBackendError",
    "MemoryItem",
    "MemoryModel",
    "Profile",
    "Requirement",
    "Scope",
    "StoredRecord",
    "Vector",
    "__version__",
    "as_memory_input",
    "catalogue",
    "check_text",
    "copy_metadata",
    "load_catalogue",
    "load_vectors",
    "require_data",
    "requirements",
    "validate_clock",
    "validate_ttl",
]
