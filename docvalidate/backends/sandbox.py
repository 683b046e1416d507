"""Bubblewrap: the namespaces and mounts that confine the local backend's interpreter. The
whole filesystem policy is :func:`bwrap_command`.

The sandbox is built from nothing, like Flatpak's: it sees only the system folders (``/usr``,
``/etc``, the ``/lib*`` links...), read-only; the interpreter and its packages, docvalidate's
worker and the documents' folders, read-only; the session's own copy of the project, writable,
at the project's real path; and a home of its own. ``/tmp``, ``/var/tmp`` and ``/run`` are
empty, and home folders and the rest of the host do not exist — so neither do the host's Unix
sockets (``/run/docker.sock``, D-Bus, ...). It has its own PID, IPC, UTS, cgroup and network
namespaces: no network at all, loopback and abstract sockets included, unless
``network = true``.

Who the example is: as another user, bwrap adds a user namespace that maps only that user
(and no nested one). As root, bwrap itself runs as root (it must read what it shows) with no
user namespace, which would map the example to host root; ``setpriv`` then makes the example
one of docvalidate's own unprivileged users, with no capabilities and no_new_privs, before the
interpreter starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from docvalidate.backends.access import trusted_program
from docvalidate.backends.identity import Identity

# Top-level folders of the host shown read-only (when they exist); links among them (a merged
# /usr's /bin -> usr/bin) are recreated as links.
SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt", "sys",
          "nix", "gnu", "snap")
EMPTY = ("/tmp", "/var/tmp", "/run")  # present, empty and writable (tmpfs)
PRIVATE = ("/root", "/home")  # never shown whole, whatever asks for them


@dataclass(frozen=True)
class BwrapStatus:
    path: str | None  # the bwrap binary when it works here
    reason: str  # why it cannot be used, when path is None


def probe_bwrap(as_root: bool) -> BwrapStatus:
    """Whether bwrap exists *and* can create its namespaces here (containers often forbid
    it), with the reason when it cannot."""
    bwrap = trusted_program("bwrap")
    if bwrap is None:
        return BwrapStatus(None, "bubblewrap (bwrap) is not installed")
    if as_root and trusted_program("setpriv") is None:
        return BwrapStatus(None, "setpriv (util-linux) is missing: as root, examples start "
                           "through it as an unprivileged user")
    true = trusted_program("true") or "/bin/true"
    probe = [*_namespaces(as_root, network=False), "--ro-bind", "/", "/", true]
    probe[0] = bwrap
    try:
        # A fixed environment: the probe runs as root, and nothing of ours needs to reach it.
        done = subprocess.run(probe, capture_output=True, timeout=30, cwd="/",
                              env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    except (OSError, subprocess.SubprocessError) as exc:
        return BwrapStatus(None, f"bwrap cannot be started: {exc}")
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = said[-1] if said else f"exit status {done.returncode}"
        return BwrapStatus(None, f"bwrap cannot create its namespaces here ({why})")
    return BwrapStatus(bwrap, "")


def as_user(identity: Identity) -> dict[str, object]:
    """Popen arguments that start a process as ``identity`` (when that is not us)."""
    if not identity.switch:
        return {}
    return {"user": identity.uid, "group": identity.gid, "extra_groups": []}


def drop_to(identity: Identity, always: bool = False) -> list[str]:
    """The command prefix (setpriv) that becomes ``identity`` with no capabilities (none
    inheritable, an empty bounding set) and no_new_privs, before the interpreter starts. Empty
    when there is no user to switch to, unless ``always`` (no_new_privs still matters then);
    empty too when setpriv is missing, and the caller must do without."""
    setpriv = trusted_program("setpriv")
    if setpriv is None or not (identity.switch or always):
        return []
    switch = [f"--reuid={identity.uid}", f"--regid={identity.gid}", "--clear-groups",
              "--inh-caps=-all", "--bounding-set=-all"] if identity.switch else []
    return [setpriv, *switch, "--no-new-privs", "--"]


def _namespaces(as_root: bool, network: bool) -> list[str]:
    """As another user, bwrap makes a user namespace (it maps our user to itself, and gives
    the sandbox a process count of its own). As root it must not: a user namespace would map
    the example to host root; the example becomes an unprivileged host user instead."""
    if as_root:
        argv = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
                "--unshare-cgroup-try"]
        if not network:
            argv.append("--unshare-net")
    else:
        # --disable-userns: no nested user namespace either, in which the example would hold
        # capabilities (over its own namespaces only, but still).
        argv = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns"]
        if network:
            argv.append("--share-net")
    return [*argv, "--die-with-parent", "--new-session"]


@dataclass(frozen=True)
class Layout:
    """Where a session's folders are on the host, and where the sandbox shows them."""

    copy: Path  # the session's copy of the project (host)
    root: Path  # the project's real path: where the copy is shown
    home: Path  # the session's home (host and sandbox)
    shared: tuple[str, ...] = ()  # paths relative to root not copied: shown read-only
    sockets: tuple[str, ...] = ()  # sockets inside them: masked
    accounts: tuple[Path, Path] | None = None  # passwd and group to show, for our users


def bwrap_command(bwrap: str, layout: Layout, readable: Sequence[Path | str], network: bool,
                  as_root: bool) -> list[str]:
    """The bwrap argument list (to be followed by the command to run)."""
    argv = _namespaces(as_root, network)
    argv[0] = bwrap
    covered = []
    for name in SYSTEM:
        host = Path("/", name)
        if host.is_symlink():
            argv += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            argv += ["--ro-bind", str(host), str(host)]
            covered.append(str(host))
    argv += ["--proc", "/proc", "--dev", "/dev", "--perms", "0755", "--dir", "/var"]
    for folder in EMPTY:
        argv += ["--perms", "1777", "--tmpfs", folder]
    argv += ["--symlink", "../run", "/var/run"]
    if layout.accounts is not None:
        passwd, group = layout.accounts
        argv += ["--ro-bind", str(passwd), "/etc/passwd", "--ro-bind", str(group), "/etc/group"]
    made = {*covered, "/var", *EMPTY}
    root = str(layout.root)

    def show(path: str, *how: str) -> None:
        # The folders leading to it must be traversable by the example's user.
        parent, missing = os.path.dirname(path), []
        while parent != "/" and parent not in made and not _under(parent, covered):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for folder in reversed(missing):
            argv.extend(["--perms", "0755", "--dir", folder])
            made.add(folder)
        argv.extend([*how, path])
        made.add(path)

    for path in _readable(readable, covered, root):
        show(path, "--ro-bind", path)
    show(root, "--bind", str(layout.copy))
    for rel in layout.shared:
        original = str(layout.root / rel)
        if os.path.lexists(original) and not os.path.islink(original):
            argv += ["--ro-bind", original, original]
    for rel in layout.sockets:
        argv += ["--ro-bind", "/dev/null", str(layout.root / rel)]
    show(str(layout.home), "--bind", str(layout.home))
    argv += ["--chdir", root]
    return argv


def _readable(paths: Iterable[Path | str], covered: Sequence[str], root: str) -> list[str]:
    """The paths to show read-only: existing, not already shown, never ``/`` nor a folder
    holding home folders, and never the project root (its copy is shown there instead)."""
    # Never a folder holding homes, nor one holding (or being) a folder the sandbox keeps
    # empty: /tmp or /run shown read-only would show the host's sockets in them.
    private = [p for p in (*PRIVATE, *EMPTY, os.path.expanduser("~")) if p and p != "/"]
    chosen: list[str] = []
    for raw in dict.fromkeys(os.path.realpath(str(p)) for p in paths):
        if raw == "/" or not os.path.exists(raw) or _under(raw, covered):
            continue
        if any(_under(home, [raw]) for home in private):
            continue  # it would show whole home folders, or the host's /tmp or /run
        if _under(raw, [root]):
            continue  # inside the project: the session's copy is shown there
        chosen.append(raw)
    # Shallow first, so that a deeper path is mounted on top of the one holding it.
    return sorted(chosen, key=lambda p: p.count("/"))


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


PROBE = ("import sys, json; print(json.dumps({'version': list(sys.version_info[:3]), "
         "'paths': [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]}))")


@dataclass(frozen=True)
class Interpreter:
    """What the examples' interpreter told us about itself."""

    python: str
    version: tuple[int, int, int]  # major, minor, micro: `requires="3.11.2"` compares all three
    paths: tuple[str, ...]  # folders it needs to read: its prefixes and its sys.path


def own_interpreter(python: str) -> Interpreter | None:
    """The interpreter running docvalidate, when ``python`` is it: no need to ask."""
    if Path(python).resolve() != Path(sys.executable).resolve():
        return None
    # sys.path[0] is where docvalidate was started from (its script's folder, or with
    # `python -m` the current folder): not the interpreter's, and never shown.
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path[1:]]
    return Interpreter(python, (sys.version_info[0], sys.version_info[1], sys.version_info[2]),
                       _absolute(python, paths))


def parse_probe(python: str, output: str) -> Interpreter:
    """Read what PROBE printed; ValueError when it is not that."""
    data = json.loads(output.strip().splitlines()[-1])
    version = data["version"]
    paths = data["paths"]
    if (not isinstance(version, list) or len(version) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in version)
            or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths)):
        raise ValueError("unexpected answer")
    return Interpreter(python, (version[0], version[1], version[2]), _absolute(python, paths))


def _absolute(python: str, paths: list[str]) -> tuple[str, ...]:
    # Its folder, and the one above (a prefix: bin/python), as named and with links resolved;
    # the folder itself too, for when the one above is refused (a python in /tmp/x/).
    named, resolved = Path(python).parent, Path(python).resolve().parent
    found = [*paths, str(named), str(named.parent), str(resolved), str(resolved.parent)]
    return tuple(p for p in dict.fromkeys(found) if p and os.path.isabs(p))


def interpreter_folders(python: str) -> tuple[str, ...]:
    """What the probe itself needs to see: the interpreter's folder trees (as named, and with
    links resolved)."""
    return _absolute(python, [])
