"""The LLM fixer: asks an OpenAI-compatible Chat Completions server for a corrected block.

One request per proposal, through the real ``openai`` client (its own retries and backoff
cover 429, 5xx and connection errors). The answer is asked for as structured output
(``{"code": ...}``); a server that rejects ``json_schema`` is asked for a fenced block instead
for the rest of the run. Whatever goes wrong on the wire becomes a :class:`Proposal` without
code and with a one-sentence reason: a flaky model server must never stop a run.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib.metadata
import json
import os
import re
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jinja2
import openai
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markdown_it import MarkdownIt
from openai.types.chat import ChatCompletionMessageParam

from docvalidate.errors import ConfigError
from docvalidate.model import ErrorInfo
from docvalidate.repair.context import AttemptSummary, Proposal, RepairContext

PACKAGE_TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_NAMES = ("system.j2", "user.j2")

# A local server (llama.cpp, vLLM, Ollama...) usually wants no key, but the SDK insists on one.
NO_KEY_PLACEHOLDER = "unused"

# What the prompt keeps of long inputs: the end matters most (the exception, the last output).
TRACEBACK_LINES, TRACEBACK_CHARS = 40, 4000
OUTPUT_LINES, OUTPUT_CHARS = 20, 2000
MESSAGE_CHARS = 1500
DIFF_LINES, DIFF_CHARS = 40, 3000
PROSE_CHARS = 2000
EARLIER_CHARS = 6000  # all earlier blocks together; the nearest ones are kept
REASON_DETAIL_CHARS = 200

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

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
_CODE_LANGUAGES = {"", "python", "python3", "py", "pycon", "py3"}
_NUMBERED = re.compile(r"^[ >]*(\d+) \| ?(.*)$")


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
_SDK_TROUBLE = (openai.OpenAIError, ValueError)


class _Failed(Exception):
    """A request that produced no usable answer; ``str()`` is the reason."""

    def __init__(self, reason: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        super().__init__(reason)
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class LLMFixer:
    """Proposes a corrected block for a failing example; safe to call from many threads."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._env = _template_env(settings.templates)
        self._client = _client(settings)
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
            except _Failed as failed:
                self._spend(failed.prompt_tokens + failed.completion_tokens)
                return Proposal(None, self._redact(str(failed)), failed.prompt_tokens,
                                failed.completion_tokens)
            self._spend(prompt + completion)
            return Proposal(code, None, prompt, completion)

    # -- one proposal ---------------------------------------------------------------------

    def _ask(self, ctx: RepairContext) -> tuple[str, int, int]:
        """The corrected code and the usage; raises _Failed with the reason otherwise."""
        with self._lock:
            structured = self._structured
        messages = self._messages(ctx, structured)  # outside the try: our bugs must show
        try:
            response = self._request(messages, structured)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as err:
            if not structured:
                raise _Failed(self._reason(err)) from err
            response = self._without_schema(ctx, err)
            structured = False
        except _SDK_TROUBLE as err:
            raise _Failed(self._reason(err)) from err
        return read_answer(response, structured, ctx.example.first_code_line)

    def _without_schema(self, ctx: RepairContext, rejected: openai.APIStatusError) -> object:
        """Retry a request refused while it asked for ``json_schema``, as plain text.

        Most likely the server does not support structured output; an accepted plain request
        proves it, and the rest of the run asks for fenced blocks. A plain request refused as
        well means the trouble was something else: structured output stays on.
        """
        messages = self._messages(ctx, structured=False)
        try:
            response = self._request(messages, structured=False)
        except (openai.BadRequestError, openai.UnprocessableEntityError) as err:
            raise _Failed(self._reason(rejected)) from err
        except _SDK_TROUBLE as err:
            raise _Failed(self._reason(err)) from err
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
        """One sentence for an exception raised by the SDK or while it parsed the answer."""
        tries = self.settings.max_retries + 1
        where = _display_url(str(self._client.base_url)).rstrip("/")  # as the SDK resolved it
        if isinstance(err, openai.APITimeoutError):
            return (f"the model server at {where} did not answer within "
                    f"{self.settings.timeout:g} s ({_tries(tries)})")
        if isinstance(err, openai.APIConnectionError):
            cause = _short(str(err.__cause__ or err) or type(err.__cause__).__name__)
            return f"could not reach the model server at {where} ({_tries(tries)}): {cause}"
        if isinstance(err, openai.APIStatusError):
            return _status_reason(err, self.settings.max_retries)
        if isinstance(err, json.JSONDecodeError):
            return f"the model server's answer was not valid JSON: {_short(str(err))}"
        if isinstance(err, ValueError):  # e.g. pydantic's ValidationError
            return f"the model server's answer could not be read: {_short(str(err))}"
        return f"the model request failed: {type(err).__name__}: {_short(str(err))}"


def _tries(n: int) -> str:
    return "1 try" if n == 1 else f"{n} tries"


def _status_reason(err: openai.APIStatusError, max_retries: int) -> str:
    """The reason for an HTTP error status, with the server's own message."""
    status = err.status_code
    detail = _short(_error_message(err))
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


def _short(text: str, limit: int = REASON_DETAIL_CHARS) -> str:
    """One line, capped: reasons are shown one per line."""
    text = " ".join(_ANSI.sub("", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _display_url(url: str) -> str:
    """The URL without user info or query, which may hold credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _client(settings: LLMSettings) -> openai.OpenAI:
    api_key = settings.api_key or (NO_KEY_PLACEHOLDER if settings.base_url else None)
    try:
        return openai.OpenAI(base_url=settings.base_url, api_key=api_key,
                             timeout=settings.timeout, max_retries=settings.max_retries)
    except openai.OpenAIError as err:
        raise ConfigError("no API key for the model server: set OPENAI_API_KEY, or set a base "
                          f"URL for a local server ({err.__class__.__name__})") from err


class _ConfinedLoader(jinja2.FileSystemLoader):
    """Templates are files inside the templates folder, and small: a project's ``host -> /``
    link with ``{% include "host/etc/shadow" %}`` must not put a host file in every prompt
    (Jinja's sandbox does not stop its loader following links), nor ``/dev/zero`` fill our
    memory."""

    MAX_BYTES = 256 * 1024

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Any]:
        pieces = jinja2.loaders.split_template_path(template)
        for folder in self.searchpath:
            candidate = os.path.join(folder, *pieces)
            if not os.path.lexists(candidate):
                continue
            # Checked before anything is read: where it really is, what it is, its size.
            real = os.path.realpath(candidate)
            if not real.startswith(os.path.realpath(folder) + os.sep):
                raise jinja2.TemplateNotFound(f"{template} (outside the templates folder)")
            if not os.path.isfile(real) or os.path.getsize(real) > self.MAX_BYTES:
                raise jinja2.TemplateNotFound(f"{template} (not a template file of at most "
                                              f"{self.MAX_BYTES} bytes)")
            break
        return super().get_source(environment, template)


def _template_env(folder: Path | None) -> jinja2.Environment:
    """Templates from the project's folder first, then the package's; loaded now to fail early.

    A project's templates are data, not code: they render in Jinja2's immutable sandbox, where
    ``{{ cycler.__init__.__globals__.os.popen(...) }}`` is a SecurityError, not a shell
    command run inside docvalidate while the API key is in its environment."""
    search: list[Path] = []
    if folder is not None:
        if not folder.is_dir():
            raise ConfigError(f"prompt templates folder {folder} does not exist")
        search.append(folder)
    search.append(PACKAGE_TEMPLATES)
    env = ImmutableSandboxedEnvironment(
        loader=_ConfinedLoader([str(p) for p in search]),
        autoescape=False,  # prompts are plain text, not HTML
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not a silent hole
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(name)
        except jinja2.TemplateError as err:
            raise ConfigError(f"prompt template {name}: {err}") from err
    return env


# -- reading the answer -------------------------------------------------------------------


def read_answer(response: object, structured: bool, first_line: int | None = None
                ) -> tuple[str, int, int]:
    """(code, prompt tokens, completion tokens) from a chat completion; _Failed otherwise."""
    prompt, completion = _usage(response)

    def fail(reason: str) -> _Failed:
        return _Failed(reason, prompt, completion)

    if isinstance(response, str):
        # The SDK hands back the body as text when the Content-Type is not JSON.
        raise fail(f"the model server did not answer with a chat completion: {_short(response)}")
    try:
        choice = response.choices[0]  # type: ignore[attr-defined]
    except (AttributeError, TypeError, IndexError, KeyError):
        raise fail("the model server's answer held no choices") from None
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise fail(f"the model declined to answer: {_short(str(refusal))}")
    content = getattr(message, "content", None)
    cut = getattr(choice, "finish_reason", None) == "length"
    if not isinstance(content, str) or not content.strip():
        raise fail("the model's answer was empty")
    code = _code_from_json(content) if structured else None
    if code is None:
        code = first_code_block(content)
    if code is None and structured and not cut and _looks_like_json(content):
        raise fail('the model\'s answer was JSON without a "code" string')
    if code is None or not code.strip():
        if cut:
            raise fail("the model's answer was cut off at its length limit before the code "
                       "was complete")
        raise fail("the model's answer held no code block")
    return normalise_code(code, first_line), prompt, completion


def _usage(response: object) -> tuple[int, int]:
    usage = getattr(response, "usage", None)
    prompt = getattr(usage, "prompt_tokens", None)
    completion = getattr(usage, "completion_tokens", None)
    return (prompt if isinstance(prompt, int) else 0,
            completion if isinstance(completion, int) else 0)


def _looks_like_json(content: str) -> bool:
    try:
        json.loads(content)
    except ValueError:
        return False
    return True


def _code_from_json(content: str) -> str | None:
    """The ``code`` string of a ``{"code": ...}`` answer, unwrapping a fence put inside it."""
    try:
        data = json.loads(content)
    except ValueError:
        return None
    code = data.get("code") if isinstance(data, dict) else None
    if not isinstance(code, str):
        return None
    # Models sometimes fence the code even inside JSON.
    return first_code_block(code) if code.lstrip().startswith(("```", "~~~")) else code


def first_code_block(text: str) -> str | None:
    """The body of the first fenced block marked python/py/pycon or unmarked, if any (the
    answer is Markdown: markdown-it-py finds its fences)."""
    for token in _markdown().parse(text):
        language = (token.info.split() or [""])[0].lower()
        if token.type == "fence" and language in _CODE_LANGUAGES:
            return token.content
    return None


@functools.cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark")


def normalise_code(code: str, first_line: int | None = None) -> str:
    """Line endings ``\\n``, no surrounding blank lines, one final newline.

    With ``first_line`` (the block's first doc line), also undoes ``  12 | x = 1`` numbering
    copied from the prompt.
    """
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    code = re.sub(r"\A(?:[ \t]*\n)+", "", code).rstrip() + "\n"
    return _strip_line_numbers(code, first_line) if first_line is not None else code


def _strip_line_numbers(code: str, first_line: int) -> str:
    """Undo the prompt's numbering if every line carries it, counting up from ``first_line``.

    Anything less is left alone: ``12 | x`` is also a valid Python expression.
    """
    lines = code.splitlines()
    matches = [_NUMBERED.match(line) for line in lines]
    if not all(matches):
        return code
    numbers = [int(m[1]) for m in matches if m]
    if numbers != list(range(first_line, first_line + len(numbers))):
        return code
    return "".join(f"{m[2]}\n" for m in matches if m)


# -- building the prompt ------------------------------------------------------------------


def prompt_variables(ctx: RepairContext, structured: bool) -> dict[str, Any]:
    """Everything the templates may use, already trimmed to prompt size.

    Templates get plain strings, numbers, lists and dicts so that a project's own templates
    need no knowledge of docvalidate's classes.
    """
    example, error = ctx.example, ctx.error
    earlier, omitted = _nearest(ctx.earlier, EARLIER_CHARS)
    first = example.first_code_line
    return {
        "structured": structured,  # answer as {"code": ...} (else: one fenced block)
        "path": example.path,
        "heading": example.heading or "",
        "language": "pycon" if example.interactive else "python",
        "interactive": example.interactive,  # a >>> session (decided by the source)
        "fence_language": "pycon" if example.language == "pycon" else "python",
        "prose": _head_cut(ctx.prose.strip(), PROSE_CHARS),
        "earlier": earlier,
        "earlier_omitted": omitted,
        "code": example.code,
        "numbered_code": number_lines(example.code, first, error.line),
        "first_line": first,
        "last_line": first + max(0, len(example.code.splitlines()) - 1),
        "error_type": error.type,
        "error_message": _tail(_strip_ansi(error.message), 30, MESSAGE_CHARS),
        "error_line": error.line,
        "traceback": _tail(_strip_ansi(error.traceback), TRACEBACK_LINES, TRACEBACK_CHARS),
        "diff": _tail(_strip_ansi(error.diff), DIFF_LINES, DIFF_CHARS),
        "stdout": _tail(_strip_ansi(ctx.stdout), OUTPUT_LINES, OUTPUT_CHARS),
        "stderr": _tail(_strip_ansi(ctx.stderr), OUTPUT_LINES, OUTPUT_CHARS),
        "packages": dict(sorted(ctx.packages.items())),
        "attempts": [summarise_attempt(i, a, example.code, first)
                     for i, a in enumerate(ctx.attempts, 1)],
    }


def number_lines(code: str, first: int, mark: int | None = None) -> str:
    """``  12 | code`` for each line; the line ``mark`` (the error's) gets a ``>``."""
    lines = code.splitlines() or [""]
    width = len(str(first + len(lines) - 1))
    out = []
    for i, line in enumerate(lines):
        number = first + i
        pointer = ">" if number == mark else " "
        out.append(f"{pointer} {number:>{width}} | {line}".rstrip())
    return "\n".join(out)


def summarise_attempt(index: int, attempt: AttemptSummary, original: str, first: int) -> str:
    """``Attempt 2: changed lines 12-13; it failed with NameError: ... (line 12).``"""
    change = _changed_lines(original, attempt.code, first)
    if attempt.rejected:
        outcome = f"rejected: {_short(attempt.rejected)}"
    elif attempt.error is not None:
        outcome = f"it failed with {_error_line(attempt.error)}"
    else:
        outcome = "it did not fix the example"
    return f"Attempt {index}: {change}; {outcome}."


def _error_line(error: ErrorInfo) -> str:
    where = f" (line {error.line})" if error.line is not None else ""
    return f"{error.type}: {_short(error.message)}{where}"


def _changed_lines(original: str, new: str, first: int) -> str:
    """Which doc lines of the original block an attempt touched, as ranges."""
    old_lines, new_lines = original.splitlines(), new.splitlines()
    touched: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i1 == i2:  # pure insertion: name the line it went before (or the last line)
            touched.add(min(i1, max(0, len(old_lines) - 1)))
        touched.update(range(i1, i2))
    if not touched:
        return "repeated the block unchanged"
    ranges = _ranges(sorted(first + i for i in touched))
    return f"changed line{'s' if len(touched) > 1 else ''} {ranges}"


def _ranges(numbers: Sequence[int]) -> str:
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(parts)


def _nearest(blocks: Sequence[str], limit: int) -> tuple[list[str], int]:
    """The last blocks that fit in ``limit`` characters (the nearest matter most), and how
    many earlier ones were left out."""
    kept: list[str] = []
    size = 0
    for block in reversed(blocks):
        if kept and size + len(block) > limit:
            break
        kept.append(_tail(block, 10_000, limit))
        size += len(block)
    return kept[::-1], len(blocks) - len(kept)


def _strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _tail(text: str, max_lines: int, max_chars: int) -> str:
    """The end of ``text``, at most ``max_lines`` lines and about ``max_chars`` characters."""
    text = text.rstrip()
    lines = text.splitlines()
    cut = 0
    if len(lines) > max_lines:
        cut, lines = len(lines) - max_lines, lines[-max_lines:]
    while len(lines) > 1 and sum(len(line) + 1 for line in lines) > max_chars:
        cut += 1
        lines = lines[1:]
    kept = "\n".join(lines)
    if len(kept) > max_chars:  # one very long line
        kept = "…" + kept[-max_chars:]
    return (f"[… {cut} earlier line{'s' if cut != 1 else ''} cut]\n" if cut else "") + kept


def _head_cut(text: str, max_chars: int) -> str:
    """The end of the prose: the sentences right above the block say what it shows."""
    return text if len(text) <= max_chars else "…" + text[-max_chars:]


# -- installed packages -------------------------------------------------------------------


def imported_packages(code: str) -> dict[str, str]:
    """Top-level non-stdlib modules the code imports, with their installed versions.

    ``{"yaml": "6.0.1"}``: keyed by the module name as imported; modules without an
    installed distribution (local modules, unknown names) are left out.
    """
    found: dict[str, str] = {}
    for module in _imported_modules(code):
        if module in sys.stdlib_module_names or module in found:
            continue
        version = _version_of(module)
        if version is not None:
            found[module] = version
    return found


def _imported_modules(code: str) -> Iterator[str]:
    """Absolute top-level module names in ``import`` statements, in order of appearance."""
    tree = _parse(code)
    if tree is None:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.partition(".")[0]


def _parse(code: str) -> ast.Module | None:
    """The code parsed; a pycon session is parsed from its ``>>>``/``...`` lines."""
    for source in (code, _pycon_source(code)):
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError):
            continue
    return None


def _pycon_source(code: str) -> str:
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
            lines.append(stripped[4:])
    return "\n".join(lines)


def _version_of(module: str) -> str | None:
    for dist in _distributions().get(module, ()):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


@functools.cache
def _distributions() -> dict[str, list[str]]:
    """Module -> distributions; scanning every installed distribution is slow, so once."""
    return dict(importlib.metadata.packages_distributions())
