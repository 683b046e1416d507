"""The LLM fixer: asks an OpenAI-compatible Chat Completions server for a corrected block.

One request per proposal, through the real ``openai`` client (its own retries and backoff
cover 429, 5xx and connection errors). The answer is asked for as structured output
(``{"code": ...}``); a server that rejects ``json_schema`` is asked for a fenced block instead
for the rest of the run. Whatever goes wrong on the wire becomes a :class:`Proposal` without
code and with a one-sentence reason: a flaky model server must never stop a run.

``client``: settings, the SDK client and what its errors mean; ``prompts``: the templates and
what they are given; ``answers``: the code in a model's answer; ``fixer``: one proposal.
"""

from docvalidate.repair.llm.client import LLMSettings
from docvalidate.repair.llm.fixer import LLMFixer

__all__ = ["LLMFixer", "LLMSettings"]
