"""From examples and their directives to Tasks grouped into Sessions (shared namespaces)."""

from __future__ import annotations

from collections.abc import Iterable

from docvalidate.config import Config
from docvalidate.model import ErrorInfo, Example, Session, SourceFile, Task


def plan_file(source: SourceFile, config: Config) -> tuple[Session, ...]:
    """The sessions of one file, in the order their first example appears."""
    tasks = [plan_example(example, config) for example in source.examples]
    return group(tasks)


def group(tasks: Iterable[Task]) -> tuple[Session, ...]:
    order: dict[str, list[Task]] = {}
    for task in tasks:
        order.setdefault(task.session, []).append(task)
    return tuple(
        Session(id=sid, path=items[0].example.path, tasks=tuple(items))
        for sid, items in order.items()
    )


def plan_example(example: Example, config: Config) -> Task:
    names = {d.name: d for d in example.directives}
    own = f"{example.path}:{example.line}"
    session = example.path if config.sessions == "page" else own
    timeout = config.timeout
    raises = None
    skip = None
    error = None

    def directive_error(message: str, line: int) -> ErrorInfo:
        return ErrorInfo(type="DirectiveError", message=f"{message} (directive at line {line})",
                         line=line)

    if "error" in names:
        d = names["error"]
        error = directive_error(d.value or "malformed directive", d.line)
    elif "isolated" in names and "session" in names:
        error = directive_error("'isolated' and 'session=' cannot be combined",
                                names["session"].line)
    if "isolated" in names:
        session = own
    elif "session" in names:
        session = f"{example.path}#{names['session'].value}"
    if "timeout" in names:
        timeout = float(names["timeout"].value or timeout)
    if "raises" in names:
        raises = names["raises"].value
    if "off" in names:
        skip = f"inside a '<!-- docvalidate: off -->' region (line {names['off'].line})"
    if "skip" in names:
        d = names["skip"]
        skip = d.value or f"skipped by directive at line {d.line}"
    if not example.closed:
        skip = f"unclosed code fence at line {example.line}"
    return Task(
        example=example,
        session=session,
        timeout=timeout,
        raises=raises,
        skip=skip if error is None else None,
        error=error,
        no_fix="no-fix" in names,
    )
