"""An OpenAI-compatible LLM client for the agent (install with the ``openai`` extra).

Works with any server that speaks the Chat Completions API. The key and the address come
from the arguments, else from ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

from typing import Any

import openai
from memspec.reference.agent import ILLMConfig, ILLMInput

__all__ = ["OpenAIClient"]


class OpenAIClient:
    """``chat`` sends the system prompt and the user's turn and returns the answer's text."""

    def __init__(
        self,
        config: ILLMConfig,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        self.config = config
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries
        )

    def __repr__(self) -> str:
        return f"OpenAIClient(model={self.config.model!r}, base_url={str(self._client.base_url)!r})"

    async def chat(self, input: ILLMInput) -> dict[str, Any]:
        """``{"llm_response": text, "usage": {...}}`` for one request."""
        response = await self._client.chat.completions.create(
            model=self.config.model,
            temperature=self.config.temperature,
            messages=[
                {"role": "system", "content": input.system_prompt},
                {"role": "user", "content": input.user_message},
            ],
        )
        usage = response.usage.model_dump() if response.usage is not None else {}
        return {"llm_response": response.choices[0].message.content or "", "usage": usage}

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.close()
