"""The code in a model's answer: a ``{"code": ...}`` object or a fenced block, normalised."""

from __future__ import annotations

import functools
import json
import re

from markdown_it import MarkdownIt

from docvalidate.repair.llm.trim import short
from docvalidate.sources.document import text_lines

_CODE_LANGUAGES = {"", "python", "python3", "py", "pycon", "py3"}
_NUMBERED = re.compile(r"^[ >]*(\d+) \| ?(.*)$")


class NoAnswer(Exception):
    """A request that produced no usable answer; ``str()`` is the reason."""

    def __init__(self, reason: str, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        super().__init__(reason)
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


def read_answer(response: object, structured: bool, first_line: int | None = None
                ) -> tuple[str, int, int]:
    """(code, prompt tokens, completion tokens) from a chat completion; NoAnswer otherwise."""
    prompt, completion = _usage(response)

    def fail(reason: str) -> NoAnswer:
        return NoAnswer(reason, prompt, completion)

    if isinstance(response, str):
        # The SDK hands back the body as text when the Content-Type is not JSON.
        raise fail(f"the model server did not answer with a chat completion: {short(response)}")
    try:
        choice = response.choices[0]  # type: ignore[attr-defined]
    except (AttributeError, TypeError, IndexError, KeyError):
        raise fail("the model server's answer held no choices") from None
    message = getattr(choice, "message", None)
    refusal = getattr(message, "refusal", None)
    if refusal:
        raise fail(f"the model declined to answer: {short(str(refusal))}")
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
    lines = text_lines(code)
    matches = [_NUMBERED.match(line) for line in lines]
    if not all(matches):
        return code
    numbers = [int(m[1]) for m in matches if m]
    if numbers != list(range(first_line, first_line + len(numbers))):
        return code
    return "".join(f"{m[2]}\n" for m in matches if m)

