"""What the reports are made from: a check's ``RunReport`` (docvalidate.model) and a fix's
``FixReport``. Every format is a pure function of one of them, so a new format only adds a
renderer and never reads another format's output."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from docvalidate.model import Edit, Outcome, RunReport
from docvalidate.repair.loop import Repair

# written: on disk; dry-run: would be written; conflict: changed on disk since read; error:
# could not be rewritten or written; refused: a symlink leading outside the project root.
FileStatus = Literal["written", "dry-run", "conflict", "error", "refused"]
REWRITTEN: tuple[FileStatus, ...] = ("written", "dry-run")


@dataclass(frozen=True)
class FileFix:
    path: str
    status: FileStatus
    diff: str
    message: str | None = None
    # Every edit of the file as read (empty when none could be made): applied when
    # ``status`` is "written", what would be with "dry-run", left undone otherwise.
    edits: tuple[Edit, ...] = ()


@dataclass(frozen=True)
class FixReport:
    check: RunReport  # the run before any repair
    repairs: tuple[Repair, ...]
    files: tuple[FileFix, ...]
    # The run after the rewrite: every rewritten file read again (with --dry-run, its new
    # content in memory) and run again; the other files keep their results from ``check``.
    final: RunReport
    # (id in ``check``, id in ``final``) for the examples of rewritten files: a repair that
    # adds lines moves the examples after it, so their ids (path:line) change.
    final_ids: tuple[tuple[str, str], ...] = ()
    llm: bool = False  # a model was configured, so the LLM fixer had its turn

    def final_outcome(self, example_id: str) -> Outcome | None:
        """The final result of the example known as ``example_id`` in the first check; None
        when its file could not be checked again (see ``final.files``)."""
        return self._final_by_id.get(self._moved.get(example_id, example_id))

    def repair_of(self, example_id: str) -> Repair | None:
        """The repair of the example known as ``example_id`` in the first check, if any."""
        return self._repairs.get(example_id)

    @cached_property
    def _moved(self) -> dict[str, str]:
        return dict(self.final_ids)

    @cached_property
    def _final_by_id(self) -> dict[str, Outcome]:
        return {o.task.example.id: o for o in self.final.outcomes}

    @cached_property
    def _repairs(self) -> dict[str, Repair]:
        return {r.task.example.id: r for r in self.repairs}

    @property
    def still_failing(self) -> int:
        return self.final.count("failed")

    @property
    def ok(self) -> bool:
        return self.final.ok
