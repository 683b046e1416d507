"""From examples and their directives to Tasks grouped into Sessions (shared namespaces)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from docvalidate.config import Config
from docvalidate.model import Directive, ErrorInfo, Example, Session, SourceFile, Task
from docvalidate.sources import snippets


def plan_file(source: SourceFile, config: Config,
              python_version: tuple[int, ...] | None = None) -> tuple[Session, ...]:
    """The sessions of one file, in the order their first example appears.

    Sybil's ``<!-- clear-namespace -->`` (a ``clear-namespace`` directive on the example after
    it) starts the page anew: from that example on, the page's namespace and every named
    ``session=``/``group=`` namespace are new ones (their ids end in ``@LINE``, the marker's
    line), so nothing defined above the marker is seen below it. ``continuation`` cannot reach
    across the marker: on the example right after it, that is a DirectiveError."""
    tasks: list[Task] = []
    cleared: int | None = None  # line of the last clear-namespace marker above
    for example in source.examples:
        clear = next((d for d in example.directives if d.name == "clear-namespace"), None)
        if clear is not None:
            cleared = clear.line
        task = plan_example(example, config, python_version, cleared)
        names = {d.name for d in example.directives}
        if tasks and "continuation" in names and clear is not None:
            if task.error is None:
                task = replace(task, skip=None, marker=None, error=ErrorInfo(
                    type="DirectiveError", line=clear.line,
                    message=f"'continuation' cannot continue the block before "
                            f"{_as_written(clear)} (directive at line {clear.line}): the "
                            "marker empties the namespace; remove one of them"))
        elif tasks and "continuation" in names:
            # pytest-markdown-docs: continue the namespace of the block before.
            task = replace(task, session=tasks[-1].session)
        elif (tasks and config.sessions == "block" and not names & {"session", "isolated"}
              and clear is None
              and any(d.name == "invisible" for d in tasks[-1].example.directives)):
            # Hidden setup code has a reader only in the block after it: with a namespace
            # per block, that block joins the setup's.
            task = replace(task, session=tasks[-1].session)
        tasks.append(task)
    return group(tasks)


def group(tasks: Iterable[Task]) -> tuple[Session, ...]:
    order: dict[str, list[Task]] = {}
    for task in tasks:
        order.setdefault(task.session, []).append(task)
    return tuple(
        Session(id=sid, path=items[0].example.path, tasks=tuple(items))
        for sid, items in order.items()
    )


def _as_written(d: Directive) -> str:
    if d.origin:
        return d.origin
    value = f"={d.value}" if d.value is not None else ""
    return f"<!-- docvalidate: {d.name}{value} -->"


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.strip().lstrip(">=").split("."))
    except ValueError:
        return None


def plan_example(example: Example, config: Config,
                 python_version: tuple[int, ...] | None = None,
                 cleared: int | None = None) -> Task:
    """``cleared``: the line of the last ``clear-namespace`` marker above the example, whose
    shared namespaces (the page's, named ones) are then new ones, started there."""
    names = {d.name: d for d in example.directives}
    own = f"{example.path}:{example.line}"
    epoch = f"@{cleared}" if cleared is not None else ""
    session = example.path + epoch if config.sessions == "page" else own
    timeout = config.timeout
    raises = None
    skip = None
    error = None
    marker = None

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
        session = f"{example.path}#{names['session'].value}{epoch}"
    if "timeout" in names:
        timeout = float(names["timeout"].value or timeout)
    if "raises" in names:
        raises = names["raises"].value
    if "requires" in names:
        d = names["requires"]
        wanted = _version(d.value or "")
        if wanted is None:
            error = error or directive_error(f"{_as_written(d)}: not a Python version", d.line)
        elif python_version is not None and tuple(python_version) < wanted:
            skip = (f"requires Python {d.value} (examples run on "
                    f"{'.'.join(map(str, python_version))})")
            marker = _as_written(d)
    if "off" in names:
        skip = f"inside a '<!-- docvalidate: off -->' region (line {names['off'].line})"
        marker = "<!-- docvalidate: off -->"
    if "skip" in names:
        d = names["skip"]
        marker = _as_written(d)
        skip = d.value or f"skipped by {marker} at line {d.line}"
    included = snippets.includes(example.code)
    if included and skip is None:
        # What runs on the page is the included file, which is not read yet; the include
        # line itself is not Python, and no fixer may "repair" it.
        skip = (f"includes a file with pymdownx.snippets ({'; '.join(included)}), which is "
                "not resolved yet")
        marker = None
    if not example.closed:
        skip = f"unclosed code fence at line {example.line}"
        marker = None
    xfail = None
    if "xfail" in names:
        xfail = names["xfail"].value or ""
        marker = marker if skip else _as_written(names["xfail"])
    return Task(
        example=example,
        session=session,
        timeout=timeout,
        raises=raises,
        skip=skip if error is None else None,
        error=error,
        no_fix="no-fix" in names or bool(included),
        xfail=xfail,
        check_prints="no-print-check" not in names,
        marker=marker if error is None else None,
    )
