"""``sample_docs`` on real E2B, when ``E2B_API_KEY`` is set (``-m live``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not os.environ.get("E2B_API_KEY"), reason="needs E2B_API_KEY"),
]


def _check(*args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("E2B_DEBUG", "E2B_SANDBOX_URL")}
    proc = subprocess.run([sys.executable, "-m", "docvalidate", "check", "--format", "json",
                           *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_sample_docs_give_the_same_verdicts_on_real_e2b():
    local = _check("sample_docs", "--exclude", "broken")
    remote = _check("--backend", "e2b", "--jobs", "4", "sample_docs", "--exclude", "broken")
    assert remote["summary"] == local["summary"]
    assert {e["id"]: e["status"] for e in remote["examples"]} == {
        e["id"]: e["status"] for e in local["examples"]}
    assert {e["backend"] for e in remote["examples"] if e["status"] != "skipped"} == {"e2b"}
    assert remote["usage"].startswith("E2B: ")
