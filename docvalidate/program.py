"""What a backend runs for an example, and what the run is checked against afterwards.

Every block runs under a file name of its own (the example's id), in its own lines: what
comes back (error lines, print records, tracebacks) is in those lines, and the runner maps it
to files and lines through the example's line map.
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
from docvalidate.model import Setup, Task
from docvalidate.print_strings import PrintString, parse_print_strings


@dataclass(frozen=True)
class Program:
    block: Block
    prompts: tuple[Prompt, ...] | None = None  # interactive session: what each prompt prints
    print_comments: tuple[PrintComment, ...] = ()
    print_strings: tuple[PrintString, ...] = ()  # lines relative to the block's code


def build(task: Task, doctest_flags: int, check_prints: bool = True) -> Program:
    """The Program of a task; raises ValueError for a malformed interactive session. Lines
    of prompts and print comments are lines of the example's code (1-based)."""
    example = task.example
    if example.interactive:
        prompts = parse_session(example.code, 1, doctest_flags)
        statements = tuple(
            Statement("\n" * (p.line - 1) + p.source, p.line) for p in prompts if not p.skip
        )
        return Program(Block(example.id, example.code, task.timeout, statements), prompts)
    comments = parse_print_comments(example.code) if check_prints else ()
    strings = parse_print_strings(example.code) if check_prints else ()
    return Program(Block(example.id, example.code, task.timeout,
                         trace_prints=bool(comments or strings)),
                   print_comments=comments, print_strings=strings)


def setup_block(setup: Setup) -> Block:
    """The block that runs config ``setup`` before a session's first example."""
    return Block(setup.path, setup.code, setup.timeout)
