"""From directives to Tasks and Sessions: skip reasons, regions, isolation, named sessions,
timeouts, directive errors, unclosed fences and the ``sessions`` setting."""

from __future__ import annotations

from dataclasses import replace

import pytest

from docvalidate.config import Config
from docvalidate.model import Directive, Example, Session, Task
from docvalidate.sessions import plan_example, plan_file
from docvalidate.sources.document import parse_document
from docvalidate.sources.markdown import extract

PATH = "docs/guide.md"
CONFIG = Config(timeout=7.5)


def example(*directives: tuple[str, str | None, int], line: int = 10,
            closed: bool = True) -> Example:
    return Example(
        path=PATH, language="python", info="python", code="x = 1\n", span=(0, 6), prefix="",
        newline="\n", line=line, end_line=line + 2, closed=closed,
        directives=tuple(Directive(name, value, at) for name, value, at in directives),
    )


def plan_text(text: str, config: Config = CONFIG) -> tuple[Session, ...]:
    return plan_file(extract(parse_document(PATH, text.encode()), "commonmark"), config)


def tasks_of(sessions: tuple[Session, ...]) -> list[Task]:
    return sorted((t for s in sessions for t in s.tasks), key=lambda t: t.example.line)


# --- one example -----------------------------------------------------------------------------


def test_no_directives() -> None:
    task = plan_example(example(line=4), CONFIG)
    assert (task.session, task.timeout, task.raises, task.skip, task.error, task.no_fix) == (
        PATH, 7.5, None, None, None, False
    )


def test_skip_without_reason_names_the_directive_line() -> None:
    task = plan_example(example(("skip", None, 8)), CONFIG)
    assert task.skip == "skipped by <!-- docvalidate: skip --> at line 8"
    assert task.marker == "<!-- docvalidate: skip -->"
    assert task.error is None


def test_skip_with_reason() -> None:
    task = plan_example(example(("skip", "needs a network", 8)), CONFIG)
    assert task.skip == "needs a network"


def test_off_region_reason_names_the_region_start() -> None:
    task = plan_example(example(("off", None, 2)), CONFIG)
    assert task.skip == "inside a '<!-- docvalidate: off -->' region (line 2)"


def test_skip_reason_wins_over_off_region() -> None:
    task = plan_example(example(("off", None, 2), ("skip", "own reason", 9)), CONFIG)
    assert task.skip == "own reason"


@pytest.mark.parametrize("sessions", ["page", "block"])
def test_isolated_runs_in_its_own_session(sessions: str) -> None:
    config = replace(CONFIG, sessions=sessions)
    a = plan_example(example(("isolated", None, 9), line=10), config)
    b = plan_example(example(("isolated", None, 19), line=20), config)
    page = plan_example(example(line=30), replace(CONFIG, sessions="page"))
    assert a.session == f"{PATH}:10" and b.session == f"{PATH}:20"
    assert len({a.session, b.session, page.session}) == 3


@pytest.mark.parametrize("sessions", ["page", "block"])
def test_named_session(sessions: str) -> None:
    config = replace(CONFIG, sessions=sessions)
    a = plan_example(example(("session", "db", 9), line=10), config)
    b = plan_example(example(("session", "db", 19), line=20), config)
    c = plan_example(example(("session", "web", 29), line=30), config)
    assert a.session == b.session == f"{PATH}#db"
    assert c.session == f"{PATH}#web"
    assert a.session != plan_example(example(line=40), config).session


@pytest.mark.parametrize(("value", "seconds"), [("5", 5.0), ("0.25", 0.25), ("90", 90.0)])
def test_timeout_override(value: str, seconds: float) -> None:
    assert plan_example(example(("timeout", value, 9)), CONFIG).timeout == seconds
    assert plan_example(example(), CONFIG).timeout == CONFIG.timeout


@pytest.mark.parametrize("name", ["ValueError", "json.JSONDecodeError"])
def test_raises(name: str) -> None:
    assert plan_example(example(("raises", name, 9)), CONFIG).raises == name


def test_no_fix() -> None:
    assert plan_example(example(("no-fix", None, 9)), CONFIG).no_fix
    assert not plan_example(example(("skip", None, 9)), CONFIG).no_fix


def test_directive_error_fails_the_task_with_the_directive_line() -> None:
    task = plan_example(
        example(("error", "unknown directive 'skipp'", 8), ("skip", None, 9)), CONFIG
    )
    assert task.error is not None
    assert task.error.type == "DirectiveError"
    assert task.error.line == 8
    assert task.error.message == "unknown directive 'skipp' (directive at line 8)"
    assert task.skip is None  # it fails instead of being skipped


def test_isolated_and_session_together_is_a_directive_error() -> None:
    task = plan_example(example(("isolated", None, 7), ("session", "db", 8)), CONFIG)
    assert task.error is not None and task.error.type == "DirectiveError"
    assert task.error.line == 8
    assert "'isolated' and 'session=' cannot be combined" in task.error.message


def test_unclosed_example_is_skipped() -> None:
    task = plan_example(example(line=12, closed=False), CONFIG)
    assert task.skip == "unclosed code fence at line 12"
    assert task.error is None


def test_page_sessions_share_one_namespace_block_sessions_do_not() -> None:
    examples = [example(line=n) for n in (3, 8, 13)]
    page = {plan_example(ex, CONFIG).session for ex in examples}
    block = [plan_example(ex, replace(CONFIG, sessions="block")).session for ex in examples]
    assert page == {PATH}
    assert block == [f"{PATH}:3", f"{PATH}:8", f"{PATH}:13"]


# --- whole files, through the Markdown source ------------------------------------------------


DOC = """\
# Guide

```python
a = 1
```

<!-- docvalidate: isolated, timeout=5 -->
```python
alone = True
```

<!-- docvalidate: session=db -->
```python
db = 1
```

<!-- docvalidate: off -->

```python
not_run()
```

<!-- docvalidate: on -->

<!-- docvalidate: session=db, raises=KeyError -->
```python
{}[db]
```

<!-- docvalidate: timeout=abc -->
```python
b = a
```

<!-- docvalidate: skip="shown only" -->
```python
skipped()
```

```python
unclosed = True
"""


def test_plan_file_end_to_end() -> None:
    sessions = plan_text(DOC)
    tasks = {t.example.line: t for t in tasks_of(sessions)}
    assert sorted(tasks) == [3, 8, 13, 19, 26, 31, 36, 40]

    assert tasks[3].session == PATH and tasks[3].skip is None
    assert tasks[8].session == f"{PATH}:8" and tasks[8].timeout == 5.0
    assert tasks[13].session == tasks[26].session == f"{PATH}#db"
    assert tasks[19].skip == "inside a '<!-- docvalidate: off -->' region (line 17)"
    assert tasks[26].skip is None and tasks[26].raises == "KeyError"
    error = tasks[31].error
    assert error is not None and error.type == "DirectiveError" and error.line == 30
    assert "timeout='abc' is not a number of seconds" in error.message
    assert tasks[36].skip == "shown only"
    assert tasks[40].skip == "unclosed code fence at line 40"
    assert all(t.timeout == CONFIG.timeout for n, t in tasks.items() if n != 8)


def test_sessions_come_in_order_of_their_first_example() -> None:
    sessions = plan_text(DOC)
    assert [s.id for s in sessions] == [PATH, f"{PATH}:8", f"{PATH}#db"]
    page = sessions[0]
    assert [t.example.line for t in page.tasks] == [3, 19, 31, 36, 40]
    assert all(s.path == PATH for s in sessions)


def test_block_sessions_give_every_block_its_own_session() -> None:
    sessions = plan_text(DOC, replace(CONFIG, sessions="block"))
    ids = [s.id for s in sessions]
    assert ids == [f"{PATH}:3", f"{PATH}:8", f"{PATH}#db", f"{PATH}:19", f"{PATH}:31",
                   f"{PATH}:36", f"{PATH}:40"]
    assert [len(s.tasks) for s in sessions] == [1, 1, 2, 1, 1, 1, 1]  # session=db still shared
