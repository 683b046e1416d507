"""Repair benchmark: broken doc examples of the kinds docs really suffer, each with its fix.

    python benchmarks/bench_repair.py            # deterministic fixers only (offline)
    DOCVALIDATE_MODEL=... OPENAI_API_KEY=... python benchmarks/bench_repair.py   # + the LLM

Reports how many the deterministic fixers repair alone (with and without --update-output),
and, when a model is configured, the repair rate within 1, 2 and 3 attempts and the tokens
spent per fixed example. Every repaired file is checked again with `docvalidate check`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docvalidate.config import Config
from docvalidate.engine import check
from docvalidate.fixing import FixReport, fix
from docvalidate.repair.llm import LLMFixer, LLMSettings

LIBRARY = '''
from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int = 1


class Cart:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)

    def total_value(self):
        return round(sum(i.price * i.quantity for i in self.items), 2)
'''

FENCE = "```"


@dataclass(frozen=True)
class Case:
    name: str
    broken: str  # the block as the rotted doc has it
    fixed: str  # the intended repair (for reference and for checking the benchmark itself)
    kind: str = "python"


CASES = [
    Case("missing stdlib import", "print(json.dumps({'a': 1}))\n#> {\"a\": 1}\n",
         "import json\nprint(json.dumps({'a': 1}))\n#> {\"a\": 1}\n"),
    Case("import used elsewhere in the docs", "print(co.Counter('aab')['a'])\n#> 2\n",
         "import collections as co\nprint(co.Counter('aab')['a'])\n#> 2\n"),
    Case("renamed function", "from shop import Cart, Item\ncart = Cart()\n"
         "cart.add(Item('pen', 1.5, 2))\nprint(cart.total())\n#> 3.0\n",
         "from shop import Cart, Item\ncart = Cart()\ncart.add(Item('pen', 1.5, 2))\n"
         "print(cart.total_value())\n#> 3.0\n"),
    Case("removed argument", "from shop import Cart, Item\ncart = Cart()\n"
         "cart.add(Item('pen', 1.5), quantity=2)\nprint(cart.total_value())\n#> 3.0\n",
         "from shop import Cart, Item\ncart = Cart()\ncart.add(Item('pen', 1.5, quantity=2))\n"
         "print(cart.total_value())\n#> 3.0\n"),
    Case("changed output", "from shop import Item\nprint(Item('pen', 1.5))\n"
         "#> Item(name='pen', price=1.5)\n",
         "from shop import Item\nprint(Item('pen', 1.5))\n"
         "#> Item(name='pen', price=1.5, quantity=1)\n"),
    Case("changed session output",
         ">>> from shop import Item\n>>> Item('pen', 1.5).quantity\n0\n",
         ">>> from shop import Item\n>>> Item('pen', 1.5).quantity\n1\n", kind="pycon"),
    Case("syntax slip", "from shop import Item\nfor name in ['a', 'b']\n"
         "    print(Item(name, 1.0).name)\n#> a\n#> b\n",
         "from shop import Item\nfor name in ['a', 'b']:\n    print(Item(name, 1.0).name)\n"
         "#> a\n#> b\n"),
    Case("wrong attribute", "from shop import Item\nprint(Item('pen', 1.5).cost)\n#> 1.5\n",
         "from shop import Item\nprint(Item('pen', 1.5).price)\n#> 1.5\n"),
]


def make_docs(root: Path, fixed: bool = False) -> Path:
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\n")
    (root / "shop.py").write_text(LIBRARY)
    docs = root / "docs"
    docs.mkdir()
    (docs / "setup.md").write_text(f"{FENCE}python\nimport collections as co\n{FENCE}\n")
    for i, case in enumerate(CASES):
        code = case.fixed if fixed else case.broken
        page = f"# {case.name}\n\n{FENCE}{case.kind}\n{code}{FENCE}\n"
        (docs / f"case_{i}.md").write_text(page)
    return docs


def run(root: Path, **kw: object) -> FixReport:
    os.chdir(root)
    return fix(Config(), ("docs",), **kw)  # type: ignore[arg-type]


def fixed_cases(report: FixReport) -> list[str]:
    ok = {r.task.example.path for r in report.repairs if r.status == "fixed"}
    return [c.name for i, c in enumerate(CASES) if f"docs/case_{i}.md" in ok]


def main() -> None:
    here = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        sanity = Path(tmp) / "sanity"
        sanity.mkdir()
        make_docs(sanity, fixed=True)
        os.chdir(sanity)
        assert check(Config(), ("docs",)).ok, "the intended fixes must pass"
        for update_output in (False, True):
            root = Path(tmp) / f"det-{update_output}"
            root.mkdir()
            make_docs(root)
            report = run(root, update_output=update_output)
            names = fixed_cases(report)
            os.chdir(root)
            assert check(Config(), ("docs",)).count("failed") == len(CASES) - len(names)
            flag = "--update-output" if update_output else "default"
            print(f"deterministic fixers ({flag}): {len(names)}/{len(CASES)} repaired: "
                  f"{', '.join(names)}")
        settings = LLMSettings.from_env(None, None)
        if settings is None:
            print("LLM: not configured (set DOCVALIDATE_MODEL and OPENAI_API_KEY or "
                  "OPENAI_BASE_URL) - skipped")
            return
        for attempts in (1, 2, 3):
            root = Path(tmp) / f"llm-{attempts}"
            root.mkdir()
            make_docs(root)
            llm = LLMFixer(settings)
            report = run(root, llm=llm, update_output=False, max_attempts=attempts)
            by_llm = [r for r in report.repairs if r.status == "fixed" and r.fixer == "llm"]
            names = fixed_cases(report)
            tokens = llm.tokens_used
            print(f"with {settings.model}, max {attempts} attempt(s): {len(names)}/{len(CASES)} "
                  f"repaired ({len(by_llm)} by the LLM), "
                  f"{tokens / max(1, len(by_llm)):.0f} tokens per LLM fix")
    os.chdir(here)


if __name__ == "__main__":
    main()
