"""One proposal: render the prompt, ask the server, read the answer; never raise for trouble
on the wire."""

from __future__ import annotations

import threading
from typing import Any

import jinja2
import openai
from openai.types.chat import ChatCompletionMessageParam

from docvalidate.errors import ConfigError
from docvalidate.repair.context import Proposal, RepairContext
from docvalidate.repair.llm.answers import NoAnswer, read_answer
from docvalidate.repair.llm.client import (
    NO_KEY_PLACEHOLDER,
    RESPONSE_FORMAT,
    SDK_TROUBLE,
    LLMSettings,
    describe_failure,
    make_client,
    refuses_structured_output,
)
from docvalidate.repair.llm.prompts import prompt_variables, template_env


class LLMFixer:
    """Proposes a corrected block for a failing example; safe to call from many threads."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._env = template_env(settings.templates)
        self._client = make_client(settings)
        self._slots = threading.BoundedSemaphore(max(1, settings.concurrency))
        self._lock = threading.Lock()
        self._used = 0
        self._structured = True  # until the server rejects json_schema once

    def __repr__(self) -> str:
        return f"LLMFixer({self.settings!r})"

    @property
    def tokens_used(self) -> int:
        """Prompt and completion tokens of all answers so far (as the server reported them)."""
        with self._lock:
            return self._used

    def propose(self, ctx: RepairContext) -> Proposal:
        """Ask the model for a corrected block. Never raises for model or network trouble.

        Raises :class:`ConfigError` only when a project template cannot be rendered, since
        that would fail every block the same way. The budget is checked before each request,
        so the requests already under way may take the total somewhat past it.
        """
        with self._slots:
            # Checked once a slot is free, so that waiting requests see what the others spent.
            if self._budget_spent():
                return Proposal(None, f"token budget of {self.settings.max_tokens_total} spent "
                                "(max_tokens_total)")
            try:
                code, prompt, completion = self._ask(ctx)
            except NoAnswer as failed:
                self._spend(failed.prompt_tokens + failed.completion_tokens)
                return Proposal(None, self._redact(str(failed)), failed.prompt_tokens,
                                failed.completion_tokens)
            self._spend(prompt + completion)
            return Proposal(code, None, prompt, completion)

    # -- one proposal ---------------------------------------------------------------------

    def _ask(self, ctx: RepairContext) -> tuple[str, int, int]:
        """The corrected code and the usage; raises NoAnswer with the reason otherwise."""
        with self._lock:
            structured = self._structured
        messages = self._messages(ctx, structured)  # outside the try: our bugs must show
        try:
            response = self._request(messages, structured)
        except openai.APIStatusError as err:
            # Any 400/422 may be a refusal of json_schema that does not say so; a 500 only
            # when it names response_format (a 500 for anything else is the server's trouble).
            if not (structured and (err.status_code in (400, 422)
                                    or refuses_structured_output(err))):
                raise NoAnswer(self._reason(err)) from err
            response = self._without_schema(ctx, err)
            structured = False
        except SDK_TROUBLE as err:
            raise NoAnswer(self._reason(err)) from err
        return read_answer(response, structured, ctx.example.first_code_line)

    def _without_schema(self, ctx: RepairContext, rejected: openai.APIStatusError) -> object:
        """Retry a request refused while it asked for ``json_schema``, as plain text, within
        the same attempt.

        A refusal that names ``response_format`` settles it: the rest of the run asks for
        fenced blocks. Otherwise the server most likely does not support structured output;
        an accepted plain request proves it. A plain request refused as well means the
        trouble was something else: structured output stays on.
        """
        if refuses_structured_output(rejected):
            with self._lock:
                self._structured = False
        messages = self._messages(ctx, structured=False)
        try:
            response = self._request(messages, structured=False)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as err:
            raise NoAnswer(self._reason(rejected)) from err
        except SDK_TROUBLE as err:
            raise NoAnswer(self._reason(err)) from err
        with self._lock:
            self._structured = False
        return response

    def _messages(self, ctx: RepairContext, structured: bool) -> list[ChatCompletionMessageParam]:
        """The system and user messages, rendered from the templates."""
        variables = prompt_variables(ctx, structured)
        return [
            {"role": "system", "content": self._redact(self._render("system.j2", variables))},
            {"role": "user", "content": self._redact(self._render("user.j2", variables))},
        ]

    def _request(self, messages: list[ChatCompletionMessageParam], structured: bool) -> object:
        """One chat completion (with the SDK's retries); the SDK's exceptions pass through."""
        extra: dict[str, Any] = {"response_format": RESPONSE_FORMAT} if structured else {}
        return self._client.chat.completions.create(
            model=self.settings.model,
            messages=messages,
            temperature=0,  # the same failure should get the same repair
            **extra,
        )

    def _render(self, name: str, variables: dict[str, Any]) -> str:
        try:
            return self._env.get_template(name).render(variables)
        except jinja2.TemplateError as err:
            raise ConfigError(f"prompt template {name}: {err}") from err

    # -- bookkeeping ----------------------------------------------------------------------

    def _budget_spent(self) -> bool:
        limit = self.settings.max_tokens_total
        with self._lock:
            return limit is not None and self._used >= limit

    def _spend(self, tokens: int) -> None:
        with self._lock:
            self._used += tokens

    def _redact(self, text: str) -> str:
        """The API key never leaves in a prompt or a reason (a server may echo it back); text
        an example produced that is not valid Unicode (a lone surrogate) goes as an escape,
        since a request must be UTF-8."""
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        key = self.settings.api_key
        if key and key != NO_KEY_PLACEHOLDER and len(key) >= 4:
            text = text.replace(key, "***")
        return text

    def _reason(self, err: Exception) -> str:
        # The URL as the SDK resolved it (from OPENAI_BASE_URL when the settings have none).
        return describe_failure(err, self.settings, str(self._client.base_url))
