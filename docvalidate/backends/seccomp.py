"""The seccomp filter every example runs under: no new user namespaces, no kernel keyrings.

In a user namespace of its own an example would hold every capability (over that namespace's
objects), and much of the kernel's less-travelled code opens up to it. So ``unshare`` and
``clone`` with ``CLONE_NEWUSER`` fail with EPERM. ``clone3`` passes its flags in memory, which
a filter cannot read, so it fails with ENOSYS and the C library falls back to ``clone``.

The kernel's keyrings outlive processes and are not namespaced: a key one session stores is
there for the next session of the same user (and an ordinary user's own keys would be open to
examples). ``add_key``, ``request_key`` and ``keyctl`` fail with EPERM, as in Docker's default
profile. So does ``mq_open``: POSIX message queues outlive a plain process's session too, and
cannot be listed to be removed without mounting their file system.

System calls through another ABI (i386, x32), which could get around the numbers below, fail.

The program is built here, once, and handed to bubblewrap (``--seccomp FD``) or, for plain
processes, to the worker, which installs it before any example runs.
"""

from __future__ import annotations

import os
import struct
from functools import cache

CLONE_NEWUSER = 0x10000000
# machine: (audit arch, clone, unshare, clone3, (add_key, request_key, keyctl, mq_open))
MACHINES = {
    "x86_64": (0xC000003E, 56, 272, 435, (248, 249, 250, 240)),
    "aarch64": (0xC00000B7, 220, 97, 435, (217, 218, 219, 180)),
}
_ALLOW, _EPERM, _ENOSYS = 0x7FFF0000, 0x00050001, 0x00050026
_LD, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_X32 = 0x40000000


@cache
def program(machine: str | None = None) -> bytes | None:
    """The filter as a ``struct sock_filter`` array, or None on a machine it does not know."""
    known = MACHINES.get(machine or os.uname().machine)
    if known is None:
        return None
    arch, clone, unshare, clone3, denied = known
    instructions = [
        (_LD, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, arch),
        (_RET, 0, 0, _ENOSYS),
        (_LD, 0, 0, 0),  # seccomp_data.nr
        (_JGE, 0, 1, _X32),
        (_RET, 0, 0, _ENOSYS),
        (_JEQ, 0, 1, clone3),
        (_RET, 0, 0, _ENOSYS),
    ]
    for number in denied:
        instructions += [(_JEQ, 0, 1, number), (_RET, 0, 0, _EPERM)]
    instructions += [
        (_JEQ, 1, 0, unshare),
        (_JEQ, 0, 3, clone),
        (_LD, 0, 0, 16),  # seccomp_data.args[0], low half: the flags
        (_JSET, 0, 1, CLONE_NEWUSER),
        (_RET, 0, 0, _EPERM),
        (_RET, 0, 0, _ALLOW),
    ]
    return b"".join(struct.pack("=HBBI", *insn) for insn in instructions)
