"""The program that runs examples, in the examples' own interpreter, inside whatever sandbox the
backend made. Every backend runs this same program.

It is executed as a script (``python worker.py FD [--reaper]``) by whatever interpreter the user
configured, so it imports nothing from docvalidate and only cheap standard modules at start-up.

Protocol, over the socket on file descriptor FD. docvalidate sends marshal'd dicts, each
after its length (4 bytes, big-endian): it is trusted, and marshal needs no import. The worker
answers with one JSON object per line, which docvalidate parses as untrusted input.

* docvalidate sends ``{"t": "setup", ...}``; the worker applies the limits and answers
  ``{"t": "ready"}``;
* for each block, docvalidate sends ``{"t": "run", "b": j, "n": NONCE, ...}`` and the worker
  answers ``{"t": "end", "b": j, "n": NONCE, ...}``; the next block is sent only after that;
* end of input: the worker exits.

docvalidate times every block itself, accepts each answer once and in order, and only from
this process (the kernel tells it who wrote each byte). The nonce is new for every block, so a
blind write of a forged answer is caught. A stack dump is asked for with a signal when a block
runs out of time; faulthandler writes it to the worker's own stderr, which docvalidate reads.

Start-up time is paid by every session: ``json`` and ``signal`` are not imported (they pull in
``re`` and ``enum``, about 9 ms); answers are encoded with the C helper behind ``json``.

With ``--reaper`` (a plain process, no sandbox), the process docvalidate started stays behind as
a small supervisor: it is what an example sees as its parent, and once the worker is gone it
kills whatever the examples left running.
"""

import builtins
import faulthandler
import marshal
import os
import sys
import time
import types

try:
    from _json import encode_basestring_ascii as _quote
except ImportError:  # not CPython: the json module does it
    _quote = None  # type: ignore[assignment]

# Taken now: an example that replaces builtins.exec must not decide how later blocks run.
_exec, _eval, _compile = exec, eval, compile
# Where the standard library is, and sys.path as it is before the project root goes first.
_STDLIB = os.path.dirname(os.__file__)
_STARTUP_PATH = list(sys.path)
_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, without importing ast
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE
_THIS = os.path.abspath(__file__)
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_SIGKILL = 9
_DETAIL = 64 * 1024  # characters kept of an exception message or exception_only
_TRACEBACK = 256 * 1024  # characters kept of a traceback (its end)
_MRO = 64  # classes kept of an exception's MRO


def _dumps(value):
    """JSON text of the worker's own answers (dicts, lists, strings, ints, None, bools)."""
    if _quote is None:
        import json

        return json.dumps(value)
    parts = []
    _encode(value, parts.append)
    return "".join(parts)


def _encode(value, out):
    if value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, str):
        out(_quote(value))
    elif isinstance(value, int):
        out(int.__repr__(value))
    elif isinstance(value, float):
        out(float.__repr__(value) if value == value and abs(value) != float("inf") else "null")
    elif isinstance(value, dict):
        out("{")
        for n, (key, item) in enumerate(value.items()):
            if n:
                out(",")
            out(_quote(str(key)))
            out(":")
            _encode(item, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for n, item in enumerate(value):
            if n:
                out(",")
            _encode(item, out)
        out("]")
    else:
        out(_quote(str(value)))


class _Channel:
    """Messages from docvalidate (length-prefixed marshal), answers to it (JSON lines)."""

    def __init__(self, fd):
        self.fd = fd

    def send(self, message):
        data = (_dumps(message) + "\n").encode("ascii")
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def _read(self, size):
        chunks = []
        while size:
            chunk = os.read(self.fd, min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def receive(self):
        """The next message, or None at the end of input."""
        head = self._read(4)
        if head is None:
            return None
        body = self._read(int.from_bytes(head, "big"))
        return None if body is None else marshal.loads(body)


def _prctl(option, value):
    """prctl(2) through ctypes; False when it cannot be called here."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (ImportError, OSError, AttributeError):
        return False


def _install_seccomp(program):
    """Install the filter docvalidate built (see seccomp.py); False if the kernel refuses."""
    import ctypes

    buffer = ctypes.create_string_buffer(program, len(program))

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = Program(len(program) // 8, ctypes.addressof(buffer))
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _reap(worker, kill_uid):
    """The supervisor: wait for the worker, then kill every process the examples left behind
    (they were re-parented to us, the subreaper), and exit as the worker did."""
    while True:
        try:
            _, status = os.waitpid(worker, 0)
            break
        except InterruptedError:
            continue
    if kill_uid:
        # We run as a user of our own for this session: every process of that user is the
        # session's, wherever it went.
        try:
            os.kill(-1, _SIGKILL)
        except OSError:
            pass
    while True:
        children = _children()
        if not children:
            break
        for pid in children:
            try:
                os.kill(pid, _SIGKILL)
            except OSError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            break
        time.sleep(0.001)
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _children():
    me = os.getpid()
    found = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                found.extend(int(pid) for pid in f.read().split())
        except OSError:
            pass
    return [pid for pid in found if pid != me]


def _capture_file():
    if hasattr(os, "memfd_create"):
        return os.memfd_create("docvalidate-capture", os.MFD_CLOEXEC)
    import tempfile

    fd = os.dup(tempfile.TemporaryFile().fileno())
    os.set_inheritable(fd, False)
    return fd


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


def _show_sources(sources):
    """The blocks' lines, for tracebacks, under their file names. Only when a traceback is
    made: linecache imports tokenize and re, a cost every session would pay otherwise."""
    linecache = _stdlib("linecache")
    for name, source in sources.items():
        lines = [line + "\n" for line in source.split("\n")]
        linecache.cache[name] = (len(source), None, lines, name)


def _cut(text, size, keep_end=False):
    if len(text) <= size:
        return text
    if keep_end:
        return "[... %d characters cut ...]\n" % (len(text) - size) + text[-size:]
    return text[:size] + " [... %d characters cut]" % (len(text) - size)


_STDLIB_MODULES = {}  # type: dict[str, types.ModuleType]


def _stdlib(name):
    """The standard library's module ``name``, never a project's module of the same name.

    The worker imports some modules only when it needs them (start-up time is paid per
    session), after the project root went first on sys.path, so a project that has its own
    ``traceback.py`` (or an example that imported one) would otherwise decide how the
    worker reports failures. For the import, sys.path is the standard library's and modules
    from anywhere else are set aside."""
    module = _STDLIB_MODULES.get(name)
    if module is not None:
        return module
    saved_path = sys.path[:]
    aside = {}
    for key, loaded in list(sys.modules.items()):
        where = getattr(loaded, "__file__", None)
        if where and not os.path.abspath(where).startswith(_STDLIB + os.sep):
            aside[key] = sys.modules.pop(key)
    sys.path[:] = [p for p in _STARTUP_PATH if p and os.path.abspath(p).startswith(_STDLIB)]
    try:
        __import__(name)
        module = sys.modules[name]
    finally:
        sys.path[:] = saved_path
        for key, loaded in aside.items():
            sys.modules[key] = loaded
    _STDLIB_MODULES[name] = module
    return module


def _describe(exc, names):
    """What went wrong, for docvalidate: the innermost line of an example's code (as the file
    name of its block and a line of that block) and the traceback. ``names``: the session's
    blocks so far, their sources by file name."""
    traceback = _stdlib("traceback")
    _show_sources(names)

    tb = exc.__traceback__
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == _THIS:
        tb = tb.tb_next
    line = where = None
    walk = tb
    while walk is not None:
        if walk.tb_frame.f_code.co_filename in names:
            line, where = walk.tb_lineno, walk.tb_frame.f_code.co_filename
        walk = walk.tb_next
    try:
        message = str(exc)
    except BaseException:  # an exception whose __str__ fails still failed the example
        message = "<%s: str() failed>" % type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.filename in names:
        line, where = exc.lineno, exc.filename
        message = str(exc.msg)
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
        only = "".join(traceback.format_exception_only(type(exc), exc))
    except BaseException:
        text = only = "%s: %s\n" % (type(exc).__name__, message)
    mro = ["%s.%s" % (c.__module__, c.__qualname__) for c in type(exc).__mro__][:_MRO]
    return {"type": type(exc).__name__, "message": _cut(message, _DETAIL),
            "line": line if isinstance(line, int) else None,
            "file": where if isinstance(where, str) else None,
            "traceback": _cut(text, _TRACEBACK, keep_end=True),
            "mro": mro, "exception_only": _cut(only, _DETAIL)}


_LOOP = None  # the session's event loop, made by its first block that awaits


def _session_loop():
    """One event loop per session, as in Jupyter: a task one block starts with
    ``asyncio.create_task`` is still alive, and runs, while later blocks await."""
    global _LOOP
    asyncio = _stdlib("asyncio")
    if _LOOP is None or _LOOP.is_closed():  # an example may close it
        _LOOP = asyncio.new_event_loop()
    # asyncio.run() in an example clears the current loop when it ends: set it every time.
    asyncio.set_event_loop(_LOOP)
    return _LOOP


def _run(source, filename, namespace, mode="exec"):
    code = _compile(source, filename, mode, flags=_TOP_LEVEL_AWAIT, dont_inherit=True)
    if not code.co_flags & _CO_COROUTINE:
        _exec(code, namespace)
        return
    loop = _session_loop()
    events = _stdlib("asyncio").events
    # Embedded in a host that runs its own event loop around us (a Jupyter kernel executes a
    # cell from inside its loop), the session's loop runs as the standard interpreter's
    # would: the host's loop waits for this cell anyway.
    host = events._get_running_loop()
    if host is not None:
        events._set_running_loop(None)
    try:
        loop.run_until_complete(_eval(code, namespace))
    finally:
        if host is not None:
            events._set_running_loop(host)


def _guarded(run, names):
    """Run ``run()``; the example's failure, whatever it is, as a description (or None)."""
    try:
        run()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            return _describe(exc, names)
    except BaseException as exc:
        return _describe(exc, names)
    return None


def _stdout_size(fd):
    _flush()
    return os.fstat(fd).st_size


class _Budget:
    """What the detailed records of one block (print calls, statement outputs) may hold in
    all, so that an answer stays within what docvalidate accepts. Each record also costs a
    little for itself, so a million empty prints cannot make the answer huge either."""

    RECORD = 16

    def __init__(self, size):
        self.left = size
        self.dropped = 0

    def take(self, text):
        """``text``, cut to what is left, or None when nothing is left at all."""
        if self.left < self.RECORD:
            self.dropped += len(text)
            return None
        self.left -= self.RECORD
        kept = text[:self.left]
        self.dropped += len(text) - len(kept)
        self.left -= len(kept)
        return kept


def _tracing_print(filename, records, budget):
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
        kept = budget.take(buffer.getvalue())
        if kept is not None:
            records.append([frame.f_lineno if frame is not None else None, kept])
        sys.stdout.write(buffer.getvalue())
        if kwargs.get("flush"):
            sys.stdout.flush()

    return real, print


def _own_tasks():
    """Processes and threads of our user now (RLIMIT_NPROC counts every one of them)."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as f:
                status = f.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        try:
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (KeyError, ValueError, IndexError):
            continue
    return count


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
    # RLIMIT_NPROC counts every process of the user (in the user namespace). "exact": the user
    # (or namespace) is this session's alone; "relative": it is shared with the developer's
    # other programs, so the limit is what they run now plus ours; None: a cgroup counts.
    nproc = limits["nproc"]
    if nproc == "exact":
        wanted.append(("RLIMIT_NPROC", limits["processes"]))
    elif nproc == "relative":
        wanted.append(("RLIMIT_NPROC", _own_tasks() + limits["processes"]))
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
        except (ValueError, OSError, OverflowError):
            pass


class _Session:
    """One session: its namespace, its capture files and the blocks run so far.

    ``embedded``: the worker runs inside a process that is not its own (a Jupyter kernel in an
    E2B code context). The process's stdout, stderr, displayhook and ``__main__`` are then
    borrowed for each block and given back after it, so the answer can be written to the
    host's own stdout."""

    def __init__(self, job, embedded=False, stack=None):
        self.filename, self.cap = job["filename"], job["max_output"]
        self.embedded = embedded
        self.stack = stack  # embedded: where a stuck block's stack is dumped
        # Running a script puts its folder first on sys.path: our own modules must never
        # shadow the user's (a project with a `base.py`), so that entry goes and the project
        # root comes first.
        if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(_THIS):
            del sys.path[0]
        if job["root"] not in sys.path:
            sys.path.insert(0, job["root"])
        self.out_fd, self.err_fd = _capture_file(), _capture_file()
        self.module = types.ModuleType("__main__")
        self.module.__file__ = self.filename
        # What an example sees of its program, as if the page were a script it runs.
        self.argv = [self.filename]
        if not embedded:
            sys.modules["__main__"] = self.module
            sys.argv = self.argv
        self.namespace = self.module.__dict__
        self.names = {}  # the session's blocks so far: their sources by file name

    def run(self, block):
        """Run one block; its answer."""
        saved = self._borrow() if self.embedded else None
        try:
            return self._block(block)
        finally:
            if saved is not None:
                self._give_back(saved)

    def _borrow(self):
        """Point the process's output and display at this session's capture files."""
        _flush()
        saved = (os.dup(1), os.dup(2), sys.stdout, sys.stderr, sys.displayhook,
                 sys.modules.get("__main__"), sys.argv)
        sys.stdout = open(1, "w", closefd=False, errors="backslashreplace")
        sys.stderr = open(2, "w", closefd=False, errors="backslashreplace")
        # ">>>" statements show their values as the standard interpreter does, not as rich
        # display messages of the host (a kernel's displayhook).
        sys.displayhook = sys.__displayhook__
        sys.modules["__main__"] = self.module
        sys.argv = self.argv
        return saved

    def _give_back(self, saved):
        out, err, stdout, stderr, displayhook, main, argv = saved
        _flush()
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        sys.stdout, sys.stderr, sys.displayhook, sys.argv = stdout, stderr, displayhook, argv
        if main is not None:
            sys.modules["__main__"] = main

    def _block(self, block):
        out_fd, err_fd, cap, names = self.out_fd, self.err_fd, self.cap, self.names
        namespace = self.namespace
        _flush()
        _reset_capture(out_fd)
        _reset_capture(err_fd)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        prints, statements = [], []
        budget = _Budget(cap)
        name = block["name"]
        names[name] = block["source"]
        real_print = None
        if block["trace_prints"]:
            real_print, builtins.print = _tracing_print(name, prints, budget)
        error = None
        if block["statements"] is None:
            error = _guarded(lambda src=block["source"], n=name: _run(src, n, namespace),
                             names)
        else:
            # An interactive session: every statement runs, as doctest does, and what each
            # one printed is the part of the captured stdout it added.
            for statement in block["statements"]:
                before = _stdout_size(out_fd)
                failure = _guarded(
                    lambda st=statement, n=name: _run(st["source"], n, namespace, "single"),
                    names)
                after = _stdout_size(out_fd)
                output = os.pread(out_fd, max(0, min(after - before, cap)), before)
                kept = budget.take(output.decode("utf-8", "replace"))
                statements.append({"output": kept or "", "error": failure})
        if real_print is not None:
            builtins.print = real_print
        _flush()
        stdout, out_dropped = _read_capture(out_fd, cap)
        stderr, err_dropped = _read_capture(err_fd, cap)
        return {"t": "end", "b": block["b"], "n": block["n"], "error": error,
                "stdout": stdout, "stderr": stderr,
                "stdout_dropped": out_dropped, "stderr_dropped": err_dropped,
                "prints": prints, "statements": statements,
                "detail_dropped": budget.dropped}


def embedded_setup(frame, marker, project, folder, env):
    """Inside a host process that runs one session (a Jupyter kernel in an E2B code context):
    the session's fresh working folder (a copy of the uploaded project), its environment and
    limits, and the session itself; says "ready" on the host's stdout after ``marker``."""
    import shutil

    job = marshal.loads(frame)
    if os.path.isdir(project):
        shutil.copytree(project, folder, symlinks=True)
    else:
        os.makedirs(folder)
    os.chdir(folder)
    os.environ.update(env)
    _limit(job["limits"])
    session = _Session(job, embedded=True, stack=open(folder + ".stack", "w"))
    _answer(marker, {"t": "ready"})
    return session


def embedded_run(session, frame, marker):
    """Run one block of an embedded session; its answer on the host's stdout after
    ``marker``. A stack dump goes to the session's stack file when the block outlives its
    time (the host cannot be sent a signal)."""
    block = marshal.loads(frame)
    stack = session.stack
    if stack is not None and block.get("timeout"):
        stack.seek(0)
        stack.truncate()
        # A little before docvalidate's own deadline, so the dump is there when it looks.
        faulthandler.dump_traceback_later(max(block["timeout"] * 0.9, block["timeout"] - 0.5),
                                          file=stack)
    try:
        answer = session.run(block)
    finally:
        if stack is not None:
            faulthandler.cancel_dump_traceback_later()
    _answer(marker, answer)


def _answer(marker, message):
    sys.stdout.write(marker + _dumps(message) + "\n")
    sys.stdout.flush()


def _session(channel, job):
    session = _Session(job)
    channel.send({"t": "ready"})
    while True:
        block = channel.receive()
        if block is None:
            return
        channel.send(session.run(block))


def main():
    fd = int(sys.argv[1])
    os.set_inheritable(fd, False)  # programs an example runs never get the channel
    flags = sys.argv[2:]
    # Nothing an example runs may gain privileges (setuid programs, file capabilities); bwrap
    # and setpriv have set this already where they started us.
    if "--no-new-privs" in flags and not _prctl(_PR_SET_NO_NEW_PRIVS, 1):
        sys.stderr.write("docvalidate: cannot set no_new_privs (prctl through ctypes)\n")
        sys.exit(3)
    if "--reaper" in flags:
        _prctl(_PR_SET_CHILD_SUBREAPER, 1)
        worker = os.fork()
        if worker:
            os.close(fd)
            _reap(worker, "--kill-uid" in flags)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    channel = _Channel(fd)
    job = channel.receive()
    if job is None or job.get("t") != "setup":
        sys.exit(4)
    if job.get("seccomp") is not None and not _install_seccomp(job["seccomp"]):
        sys.stderr.write("docvalidate: the kernel refused the seccomp filter\n")
        sys.exit(5)
    _limit(job["limits"])
    # Our own stderr goes to docvalidate's diagnostics pipe; a stack dump is written there when
    # docvalidate asks for one (a block ran out of time), so it can say which line was running.
    diagnostics = os.fdopen(os.dup(2), "w")
    os.set_inheritable(diagnostics.fileno(), False)
    faulthandler.register(job["stack_signal"], file=diagnostics, all_threads=True, chain=False)
    _session(channel, job)


if __name__ == "__main__":
    main()
