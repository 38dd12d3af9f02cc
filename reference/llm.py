"""An OpenAI-compatible LLM client for the agent (install with the ``openai`` extra).

Works with any server that speaks the Chat Completions API. The key and the address come
from the arguments, else from ``OPENAI_API_KEY`` and ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
from memspec.reference.agent import ILLMConfig, ILLMInput, LLMError
from memspec.reference.redaction import redact_url, scrub, url_secrets

__all__ = ["OpenAIClient"]

#: The loggers that write request URLs (base URL included) at INFO: the HTTP client's.
_URL_LOGGERS = ("httpx", "httpx2", "httpcore", "httpcore2", "openai", "openai._base_client")


class _Scrubbing(logging.Filter):
    """Rewrites a log record's message with a client's secrets masked."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub(message, self.secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


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
        # The HTTP client logs each request's URL; keep this client's secrets out of it.
        self._filter = _Scrubbing(self._secrets())
        for name in _URL_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    def __repr__(self) -> str:
        base_url = redact_url(str(self._client.base_url))
        return f"OpenAIClient(model={self.config.model!r}, base_url={base_url!r})"

    def _secrets(self) -> tuple[str, ...]:
        return tuple(
            secret
            for secret in (self._client.api_key, *url_secrets(str(self._client.base_url)))
            if secret
        )

    async def chat(self, input: ILLMInput) -> dict[str, Any]:
        """``{"llm_response": text, "usage": {...}}`` for one request.

        A failed call raises :class:`~memspec.reference.agent.LLMError` with the API key and
        the base URL's credentials scrubbed from its message (a server may echo the key);
        the original exception is not chained, so no traceback can print it.
        """
        try:
            response = await self._client.chat.completions.create(
                model=self.config.model,
                temperature=self.config.temperature,
                messages=[
                    {"role": "system", "content": input.system_prompt},
                    {"role": "user", "content": input.user_message},
                ],
            )
        except openai.OpenAIError as exc:
            message = scrub(f"{type(exc).__name__}: {exc}", self._secrets())
            raise LLMError(message, status_code=getattr(exc, "status_code", None)) from None
        usage = response.usage.model_dump() if response.usage is not None else {}
        return {"llm_response": response.choices[0].message.content or "", "usage": usage}

    async def aclose(self) -> None:
        """Close the HTTP connections (and stop scrubbing this client's secrets from logs)."""
        await self._client.close()
        for name in _URL_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)
