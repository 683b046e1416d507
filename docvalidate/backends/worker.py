"""The program that runs examples inside the child interpreter.

It is executed as a script (``python worker.py FD``) by whatever interpreter the user
configured, so it imports nothing from docvalidate and only cheap standard modules at start-up.
It runs one session: the blocks of the job read from stdin (JSON), in order, in one fresh
``__main__`` namespace, in the current directory (the scratch folder the parent made).
Protocol: JSON-line events on file descriptor FD: ``{"e": "start", "b": j}`` before block j,
``{"e": "end", "b": j, ...}`` after it.
"""

import builtins
import faulthandler
import json
import os
import sys
import time
import types

_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, without importing ast
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE
_THIS = os.path.abspath(__file__)


def _capture_file():
    if hasattr(os, "memfd_create"):
        return os.memfd_create("docvalidate-capture")
    import tempfile

    return os.dup(tempfile.TemporaryFile().fileno())


def _read_capture(fd, cap):
    size = os.fstat(fd).st_size
    os.lseek(fd, 0, os.SEEK_SET)
    chunks, left = [], min(size, cap)
    while left > 0:
        chunk = os.read(fd, left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    data = b"".join(chunks)
    return data.decode("utf-8", errors="replace"), max(0, size - cap)


def _reset_capture(fd):
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)


def _flush():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # an example may have replaced or closed the stream
            pass


def _doc_lines(text):
    return [line + "\n" for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def _describe(exc, filename, doc_text):
    import linecache
    import traceback

    lines = _doc_lines(doc_text)
    linecache.cache[filename] = (len(doc_text), None, lines, filename)
    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == _THIS:
        tb = tb.tb_next
    line = None
    walk = tb
    while walk is not None:
        if walk.tb_frame.f_code.co_filename == filename:
            line = walk.tb_lineno
        walk = walk.tb_next
    message = str(exc)
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        line = exc.lineno
        message = exc.msg
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    only = "".join(traceback.format_exception_only(type(exc), exc))
    mro = [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__]
    return {"type": type(exc).__name__, "message": message, "line": line,
            "traceback": text, "mro": mro, "exception_only": only}


def _run(source, filename, namespace, mode="exec"):
    code = compile(source, filename, mode, flags=_TOP_LEVEL_AWAIT, dont_inherit=True)
    if code.co_flags & _CO_COROUTINE:
        import asyncio

        asyncio.run(eval(code, namespace))
    else:
        exec(code, namespace)


def _guarded(run, filename, doc_text):
    """Run ``run()``; the example's failure, whatever it is, as a description (or None)."""
    try:
        run()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return _describe(exc, filename, doc_text)
    except BaseException as exc:
        return _describe(exc, filename, doc_text)
    return None


def _stdout_size(fd):
    _flush()
    return os.fstat(fd).st_size


def _tracing_print(filename, records):
    """A print() that also records what it wrote to stdout and the document line it was
    called from, for checking ``#>`` comments."""
    import io

    real = builtins.print

    def print(*args, **kwargs):
        target = kwargs.get("file")
        if target is not None and target is not sys.stdout:
            return real(*args, **kwargs)
        buffer = io.StringIO()
        real(*args, **dict(kwargs, file=buffer))
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != filename:
            frame = frame.f_back
        records.append([frame.f_lineno if frame is not None else None, buffer.getvalue()])
        sys.stdout.write(buffer.getvalue())
        if kwargs.get("flush"):
            sys.stdout.flush()

    return real, print


def _drop_privileges(uid):
    """Become an unprivileged user (docvalidate runs as root inside a sandbox without a user
    namespace): the kernel applies RLIMIT_NPROC to it, and it owns nothing outside scratch."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _limit(limits):
    """Apply the resource limits before any example runs; they hold for everything the
    example starts too."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return
    wanted = [
        ("RLIMIT_CPU", limits["cpu"]),
        ("RLIMIT_AS", limits["memory"]),
        ("RLIMIT_FSIZE", limits["file_size"]),
        ("RLIMIT_NOFILE", limits["open_files"]),
        ("RLIMIT_CORE", 0),
    ]
    # The kernel does not apply RLIMIT_NPROC to root. For another user it counts every process
    # of that user, so it is set only when no pids cgroup gives this session its own count.
    if os.geteuid() != 0 and limits["nproc"]:
        wanted.append(("RLIMIT_NPROC", limits["processes"]))
    for name, value in wanted:
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            # CPU: SIGXCPU at the soft limit, SIGKILL a little later if it is caught.
            top = value + 5 if name == "RLIMIT_CPU" else value
            if hard != resource.RLIM_INFINITY:
                top = min(top, hard)
            resource.setrlimit(kind, (value, top))
        except (ValueError, OSError):
            pass


def main():
    out = os.fdopen(int(sys.argv[1]), "wb", buffering=0)
    job = json.loads(sys.stdin.buffer.read())
    if job.get("user") is not None:
        _drop_privileges(job["user"])
    _limit(job["limits"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    filename, doc_text, cap = job["filename"], job["doc"], job["max_output"]
    # Running a script puts its folder first on sys.path: our own modules must never shadow the
    # user's (a project with a `base.py`), so that entry goes and the project root comes first.
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(_THIS):
        del sys.path[0]
    if job["root"] not in sys.path:
        sys.path.insert(0, job["root"])
    out_fd, err_fd = _capture_file(), _capture_file()
    # Our own stderr goes to the parent's diagnostics file: a block that is about to hit its
    # timeout dumps its stack there, so the parent can say which line was running.
    diagnostics = os.fdopen(os.dup(2), "w")

    def send(message):
        out.write((json.dumps(message) + "\n").encode("utf-8"))

    module = types.ModuleType("__main__")
    module.__file__ = filename
    sys.modules["__main__"] = module
    namespace = module.__dict__
    for b, block in enumerate(job["blocks"]):
        _flush()
        _reset_capture(out_fd)
        _reset_capture(err_fd)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        send({"e": "start", "b": b})
        timeout = block["timeout"]
        # Capped: faulthandler overflows on absurd timeouts (the parent enforces the real one).
        dump_after = min(max(timeout * 0.9, timeout - 0.25), 86400.0)
        faulthandler.dump_traceback_later(dump_after, file=diagnostics)
        prints, statements = [], []
        real_print = None
        if block["trace_prints"]:
            real_print, builtins.print = _tracing_print(filename, prints)
        started = time.perf_counter()
        error = None
        if block["statements"] is None:
            error = _guarded(lambda src=block["source"]: _run(src, filename, namespace),
                             filename, doc_text)
        else:
            # An interactive session: every statement runs, as doctest does, and what each
            # one printed is the part of the captured stdout it added.
            for statement in block["statements"]:
                before = _stdout_size(out_fd)
                failure = _guarded(
                    lambda st=statement: _run(st["source"], filename, namespace, "single"),
                    filename, doc_text)
                after = _stdout_size(out_fd)
                output = os.pread(out_fd, min(after - before, cap), before)
                statements.append({"output": output.decode("utf-8", "replace"),
                                   "error": failure})
        duration = time.perf_counter() - started
        faulthandler.cancel_dump_traceback_later()
        if real_print is not None:
            builtins.print = real_print
        _flush()
        stdout, out_dropped = _read_capture(out_fd, cap)
        stderr, err_dropped = _read_capture(err_fd, cap)
        send({"e": "end", "b": b, "error": error, "duration": duration,
              "stdout": stdout, "stderr": stderr,
              "stdout_dropped": out_dropped, "stderr_dropped": err_dropped,
              "prints": prints, "statements": statements})


if __name__ == "__main__":
    main()
