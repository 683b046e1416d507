"""Blocks of docvalidate's own run in the examples' interpreter, the way an example runs.

Whatever we need to know about that interpreter (its version and folders, the versions of the
packages installed in it) is asked there, through the backend: in the same sandbox, as the
same user, with the same scrubbed environment. Nothing of the user's environment is imported
or run in docvalidate's process, and what the answer says is untrusted text to be validated.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from docvalidate.backends.base import Backend, Block, BlockRun, Job
from docvalidate.protocol import run_job

PROBE_TIMEOUT = 60.0
PROBE_OUTPUT = 1024 * 1024


def ask_interpreter(backend: Backend, code: str, max_output: int = PROBE_OUTPUT
                    ) -> tuple[BlockRun | None, str]:
    """Run ``code`` as the one block of a session in an empty folder: its run (None when the
    backend gave no answer) and that folder, which is gone by then (the session had it on
    ``sys.path``). The caller reads ``stdout`` as untrusted text."""
    root = Path(tempfile.mkdtemp(prefix="docvalidate-probe-"))
    root.chmod(0o755)  # the session's user reads it
    try:
        job = Job("<probe>", root, (Block("<probe>", code, PROBE_TIMEOUT),), max_output,
                  limits=backend.limits)
        runs = list(run_job(backend, job))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return (runs[0] if runs else None), str(root)
