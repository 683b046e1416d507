"""What a fixer is told about a failing example, and what it answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from docvalidate.model import ErrorInfo, Example


@dataclass(frozen=True)
class AttemptSummary:
    """One earlier attempt, for the next prompt: what was tried and why it did not do."""

    code: str
    error: ErrorInfo | None  # the error the candidate raised, when it ran and failed
    rejected: str | None  # why the intent guard (or the fixer) rejected it


@dataclass(frozen=True)
class RepairContext:
    example: Example
    error: ErrorInfo
    stdout: str = ""
    stderr: str = ""
    earlier: tuple[str, ...] = ()  # code of the earlier blocks of the same session, in order
    prose: str = ""  # the Markdown just before the block
    packages: dict[str, str] = field(default_factory=dict)  # imported package -> version
    attempts: tuple[AttemptSummary, ...] = ()


@dataclass(frozen=True)
class Proposal:
    """A fixer's answer: new code for the block, or why there is none."""

    code: str | None
    reason: str | None = None  # why there is no code (e.g. "the answer held no code block")
    prompt_tokens: int = 0
    completion_tokens: int = 0
