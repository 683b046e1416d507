"""A view of docvalidate's own interpreter that a session's unprivileged user can run.

As root, examples never run as root, and without bubblewrap they run as plain processes of a
user of their own. That user must be able to read the interpreter; a Python installed under
``/root`` (pyenv's default, ``pip install --user``) is not readable by other users. Rather than
loosen the host's permissions, docvalidate bind-mounts, read-only, each folder the interpreter
needs into the run's own folder, where that user can reach it, and runs the interpreter from
there. Python finds its standard library next to its executable, so it works from the view;
a virtual environment is recreated around the view (a ``pyvenv.cfg`` naming it, and its
site-packages added with ``site.addsitedir``, so that their ``.pth`` files still work).

The mounts live inside the run's folder and go with it.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from docvalidate.backends.access import unreadable

_MS_RDONLY, _MS_BIND, _MS_REMOUNT, _MS_REC = 1, 4096, 32, 16384


class ViewError(Exception):
    """The view could not be made (the message says why)."""


@dataclass(frozen=True)
class View:
    python: str  # the interpreter to start
    paths: tuple[str, ...]  # the folders it reads
    shown: dict[str, str]  # each folder asked for (extra), and where the view shows it


def make_view(folder: Path, paths: tuple[str, ...], extra: tuple[str, ...] = ()) -> View:
    """A view of the running interpreter in ``folder`` (a new, empty folder of the run's);
    ``paths``: the folders it reads (its prefixes, its sys.path); ``extra``: more folders the
    session needs (docvalidate's worker)."""
    base = Path(os.path.realpath(sys.base_prefix))
    executable = Path(os.path.realpath(sys.executable))
    try:
        inside = executable.relative_to(base)
    except ValueError:
        raise ViewError(f"{executable} is not inside {base}") from None
    views: dict[str, str] = {}

    def show(path: str) -> str:
        """``path``, or where the view shows it when the session's user cannot read it."""
        real = os.path.realpath(path)
        for original, shown in views.items():
            if real == original or real.startswith(original + os.sep):
                return shown + real[len(original):]
        if unreadable([real]) is None:
            return real
        shown = str(folder / f"m{len(views)}")
        os.mkdir(shown, 0o755)
        _bind(real, shown)
        views[real] = shown
        return shown

    python = str(Path(show(str(base))) / inside)
    shown_paths = [show(p) for p in (*paths, *extra) if os.path.exists(p)]
    if os.path.realpath(sys.prefix) != str(base):
        python = _venv(folder / "venv", python, [show(p) for p in _site_dirs()])
        shown_paths.append(str(folder / "venv"))
    folder.chmod(0o755)
    return View(python, tuple(dict.fromkeys(shown_paths)), {p: show(p) for p in extra})


def _site_dirs() -> list[str]:
    """The virtual environment's site-packages folders (where its .pth files are)."""
    prefix = os.path.realpath(sys.prefix)
    return [p for p in sys.path
            if p.endswith("site-packages") and os.path.realpath(p).startswith(prefix)]


def _venv(folder: Path, python: str, site_dirs: list[str]) -> str:
    """A virtual environment around the viewed base interpreter, adding ``site_dirs``."""
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    bin_dir = folder / "bin"
    site = folder / "lib" / version / "site-packages"
    bin_dir.mkdir(parents=True)
    site.mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text(f"home = {Path(python).parent}\n"
                                       "include-system-site-packages = false\n"
                                       f"version = {sys.version.split()[0]}\n")
    # addsitedir, not a plain path line: the environment's own .pth files (editable installs)
    # must be read too.
    (site / "_docvalidate_view.pth").write_text(
        "".join(f"import site; site.addsitedir({d!r})\n" for d in site_dirs))
    link = bin_dir / Path(python).name
    link.symlink_to(python)
    for path in (folder, *folder.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    return str(link)


def _bind(source: str, target: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(source.encode(), target.encode(), None, _MS_BIND | _MS_REC, None) != 0:
        raise ViewError(f"cannot show {source} to the session's user: "
                        f"{os.strerror(ctypes.get_errno())}")
    # Read-only: a bind mount takes that flag only when remounted.
    libc.mount(None, target.encode(), None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY, None)
