"""What a backend runs for an example, and what the run is checked against afterwards.

Sources are laid out so that their line numbers are the lines of the document: tracebacks
then point into the Markdown file with no mapping.
"""

from __future__ import annotations

from dataclasses import dataclass

from docvalidate.backends.base import Block, Statement
from docvalidate.expected_output import (
    PrintComment,
    Prompt,
    parse_print_comments,
    parse_session,
)
from docvalidate.model import Task
from docvalidate.print_strings import PrintString, parse_print_strings


@dataclass(frozen=True)
class Program:
    block: Block
    prompts: tuple[Prompt, ...] | None = None  # interactive session: what each prompt prints
    print_comments: tuple[PrintComment, ...] = ()
    print_strings: tuple[PrintString, ...] = ()  # lines relative to the block's code


def build(task: Task, doctest_flags: int, check_prints: bool = True) -> Program:
    """The Program of a task; raises ValueError for a malformed interactive session."""
    example = task.example
    padding = "\n" * (example.first_code_line - 1)
    if example.interactive:
        prompts = parse_session(example.code, example.first_code_line, doctest_flags)
        statements = tuple(
            Statement("\n" * (p.line - 1) + p.source, p.line) for p in prompts if not p.skip
        )
        return Program(Block(padding + example.code, task.timeout, statements), prompts)
    source = padding + example.code
    comments = parse_print_comments(source) if check_prints else ()
    strings = parse_print_strings(example.code) if check_prints else ()
    return Program(Block(source, task.timeout, trace_prints=bool(comments or strings)),
                   print_comments=comments, print_strings=strings)
