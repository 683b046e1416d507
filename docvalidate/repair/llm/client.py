"""How to reach the model server: the settings, the ``openai`` client, and what its errors mean
in one sentence."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai

from docvalidate.errors import ConfigError
from docvalidate.repair.llm.trim import short

# A local server (llama.cpp, vLLM, Ollama...) usually wants no key, but the SDK insists on one.
NO_KEY_PLACEHOLDER = "unused"

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "the complete corrected block"}},
    "required": ["code"],
    "additionalProperties": False,
}
RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "corrected_block", "schema": ANSWER_SCHEMA, "strict": True},
}



@dataclass(frozen=True)
class LLMSettings:
    """How to reach the model. The API key comes from the environment only."""

    model: str
    base_url: str | None = None  # None: the openai default / OPENAI_BASE_URL
    # From OPENAI_API_KEY only; never from config. repr=False: never printed with the settings.
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 60.0
    max_retries: int = 2  # the SDK's own retry/backoff (429, 5xx, connection errors)
    templates: Path | None = None  # a project's folder overriding system.j2/user.j2
    max_tokens_total: int | None = None  # run-wide budget (prompt + completion)
    concurrency: int = 4  # parallel requests at most

    @classmethod
    def from_env(cls, model: str | None, base_url: str | None, **kw: Any) -> LLMSettings | None:
        """Settings from arguments, falling back to the environment; None when no model is set.

        model: the argument, else ``DOCVALIDATE_MODEL``; base_url: the argument, else
        ``OPENAI_BASE_URL``; key: ``OPENAI_API_KEY``, or a placeholder when a base URL is set
        (a local server may need none).
        """
        if "api_key" in kw:
            raise TypeError("the API key comes from OPENAI_API_KEY only")
        model = model or os.environ.get("DOCVALIDATE_MODEL") or None
        if not model:
            return None
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = os.environ.get("OPENAI_API_KEY") or None
        if api_key is None and base_url is not None:
            api_key = NO_KEY_PLACEHOLDER
        return cls(model=model, base_url=base_url, api_key=api_key, **kw)


# What the SDK raises for trouble on the wire. ValueError: a body that is not JSON reaches us as
# json.JSONDecodeError (the SDK does not wrap it), and pydantic's ValidationError is one too.
SDK_TROUBLE = (openai.OpenAIError, ValueError)


def describe_failure(err: Exception, settings: LLMSettings, base_url: str) -> str:
    """One sentence for an exception raised by the SDK or while it parsed the answer."""
    tries = settings.max_retries + 1
    where = _display_url(base_url).rstrip("/")
    if isinstance(err, openai.APITimeoutError):
        return (f"the model server at {where} did not answer within "
                f"{settings.timeout:g} s ({_tries(tries)})")
    if isinstance(err, openai.APIConnectionError):
        cause = short(str(err.__cause__ or err) or type(err.__cause__).__name__)
        return f"could not reach the model server at {where} ({_tries(tries)}): {cause}"
    if isinstance(err, openai.APIStatusError):
        return _status_reason(err, settings.max_retries)
    if isinstance(err, json.JSONDecodeError):
        return f"the model server's answer was not valid JSON: {short(str(err))}"
    if isinstance(err, ValueError):  # e.g. pydantic's ValidationError
        return f"the model server's answer could not be read: {short(str(err))}"
    return f"the model request failed: {type(err).__name__}: {short(str(err))}"


def refuses_structured_output(err: openai.APIStatusError) -> bool:
    """Whether a request that asked for ``json_schema`` was refused for it: HTTP 400, 422 or
    500 whose message names ``response_format``. llama.cpp's servers answer 500 (llama-cpp-
    python turns the validation error into an internal server error)."""
    return err.status_code in (400, 422, 500) and _names_response_format(_error_message(err))


def _names_response_format(text: str) -> bool:
    return "response_format" in text


def _refusal_is_final(response: Any) -> None:
    """An httpx response hook: a 500 that refuses ``response_format`` is marked as not worth
    retrying (the SDK obeys ``x-should-retry``), so the SDK's retries and their backoff are
    not spent on an answer that will repeat; the fixer then asks for plain answers. Other
    500s keep the SDK's retries."""
    if response.status_code != 500 or "x-should-retry" in response.headers:
        return
    if b"response_format" not in response.request.content:
        return  # a request that did not ask for structured output
    response.read()  # the SDK reads the error body anyway
    if _names_response_format(response.text):
        response.headers["x-should-retry"] = "false"


def _tries(n: int) -> str:
    return "1 try" if n == 1 else f"{n} tries"


def _status_reason(err: openai.APIStatusError, max_retries: int) -> str:
    """The reason for an HTTP error status, with the server's own message."""
    status = err.status_code
    detail = short(_error_message(err))
    retried = f" after {_tries(max_retries + 1)}" if status in (408, 409, 429) or status >= 500 \
        else ""
    if status == 429:
        return f"the model server kept answering HTTP 429 (rate limited){retried}: {detail}"
    if status in (401, 403):
        return f"the model server refused the credentials (HTTP {status}): {detail}"
    if status >= 500:
        return f"the model server failed with HTTP {status}{retried}: {detail}"
    return f"the model server rejected the request with HTTP {status}{retried}: {detail}"


def _error_message(err: openai.APIStatusError) -> str:
    body = err.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body
    return err.message



def _display_url(url: str) -> str:
    """The URL without user info or query, which may hold credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def make_client(settings: LLMSettings) -> openai.OpenAI:
    api_key = settings.api_key or (NO_KEY_PLACEHOLDER if settings.base_url else None)
    try:
        return openai.OpenAI(base_url=settings.base_url, api_key=api_key,
                             timeout=settings.timeout, max_retries=settings.max_retries,
                             http_client=openai.DefaultHttpxClient(
                                 event_hooks={"response": [_refusal_is_final]}))
    except openai.OpenAIError as err:
        raise ConfigError("no API key for the model server: set OPENAI_API_KEY, or set a base "
                          f"URL for a local server ({err.__class__.__name__})") from err

