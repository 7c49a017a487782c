"""Replace a file atomically, and clean up after writers that were killed.

A file is written under a temporary name in its own directory, flushed to disk, and renamed
over the target (``os.replace``, atomic on POSIX and Windows), so readers and a crash only
ever see the old file or the new one. A kill (SIGKILL, power loss) cannot run any cleanup,
so it leaves that temporary behind; the temporary is therefore named after its writer,
``.NAME.HOST-PID.RANDOM.tmp``, and the next write to the same target removes the ones whose
writer has exited (same host, process gone or a zombie) and any older than STALE_SECONDS.
A live writer's temporary is never touched before that age, so concurrent writers to one
target each finish, and the last rename wins.

A symbolic link is written through: its target is replaced and the link stays, as editors do.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

STALE_SECONDS = 3600  # older than any real write: stale whoever wrote it


def replace_atomically(path: str, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(fh)`` on a temporary file and rename it over ``path``.

    A new file gets mode 0o644 (mkstemp's own 0o600 would hide it from other users); a
    replaced file keeps its mode. If ``write`` raises, the temporary is removed and ``path``
    is untouched.
    """
    target = Path(os.path.realpath(path))  # through a symlink: replace its target, keep it
    _remove_stale_temporaries(target)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=_temporary_prefix(target), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (after a power loss, not only after a kill)."""
    with contextlib.suppress(OSError):  # not possible on every system (Windows)
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def _temporary_prefix(target: Path) -> str:
    return f".{target.name}.{_host()}-{os.getpid()}."


def _remove_stale_temporaries(target: Path) -> None:
    """Delete the temporaries for ``target`` that killed writers left (see the module)."""
    pattern = re.compile(rf"\.{re.escape(target.name)}\.([A-Za-z0-9]+)-(\d+)\.\w+\.tmp")
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            found = pattern.fullmatch(entry.name)
            if found is None or not entry.is_file(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):  # a concurrent writer may remove it first
                age = time.time() - entry.stat(follow_symlinks=False).st_mtime
                orphaned = found[1] == _host() and not _running(int(found[2]))
                if orphaned or age > STALE_SECONDS:
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (killed, not yet reaped)."""
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: another user's live process
        return True
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read()
        return state[state.rfind(b")") + 2:][:1] != b"Z"  # the field after "(name)"
    return True
