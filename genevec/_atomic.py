"""Atomic file writes: a reader sees the old file or the whole new one, never half of it.

Every file genevec writes (vectors, their JSON sidecar, checkpoints, figures, tables) goes
through :func:`atomic_write`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from typing import IO

log = logging.getLogger(__name__)

__all__ = ["atomic_write"]

_MODES = ("w", "wt", "wb")


def _temp_name(target: str) -> str:
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows, or a folder we may not open
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", *, encoding: str = "utf-8") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success, move it over ``path`` in one step.

    The data goes to a hidden temporary file in the same folder (``.<name>.<random>.tmp``). When
    the ``with`` block ends normally the file is flushed, ``fsync``-ed and renamed onto ``path``
    with :func:`os.replace`, which is atomic on POSIX and Windows; the folder is then
    ``fsync``-ed too. If the block raises, the temporary file is deleted and ``path`` is left as it
    was (or absent), and the exception propagates.

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace. A symbolic link is followed: its target is replaced, as
        ``open(path, "w")`` would write through it.
    mode : {"w", "wt", "wb"}, default="w"
        Text (``"w"``, ``"wt"``) or binary (``"wb"``) writing.
    encoding : str, default="utf-8"
        Encoding of a text file; ignored in binary mode. Text is written with ``"\\n"`` line
        ends on every platform (no newline translation).

    Yields
    ------
    file object
        Write to it as to ``open(path, mode)``; do not close it yourself.

    Raises
    ------
    ValueError
        For a mode other than those above.
    FileNotFoundError
        When the folder of ``path`` does not exist.

    Notes
    -----
    A new file gets the usual permissions (``0o666`` minus the umask); a replaced file keeps its
    permission bits. If the process is killed (``SIGKILL``, power loss) in the middle, ``path``
    is intact but the hidden temporary file may remain; it is safe to delete.

    Examples
    --------
    >>> import os, tempfile
    >>> from genevec._atomic import atomic_write
    >>> path = os.path.join(tempfile.mkdtemp(), "genes.txt")
    >>> with atomic_write(path) as fh:
    ...     _ = fh.write("EGFR\\n")
    >>> open(path).read()
    'EGFR\\n'
    >>> try:
    ...     with atomic_write(path) as fh:
    ...         _ = fh.write("half a fi")
    ...         raise RuntimeError("disk full")
    ... except RuntimeError:
    ...     pass
    >>> open(path).read()
    'EGFR\\n'
    """
    if mode not in _MODES:
        raise ValueError(
            f"atomic_write: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}. "
            "Use 'w' for text or 'wb' for bytes; appending cannot be atomic, so rewrite the whole file."
        )
    target = os.path.realpath(os.fspath(path))
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"Cannot write {os.fspath(path)!r}: the folder {folder!r} does not exist. "
            f"Create it first, e.g. os.makedirs({folder!r}, exist_ok=True)."
        )
    if os.path.isdir(target):
        raise IsADirectoryError(f"Cannot write {os.fspath(path)!r}: it is a folder. Give a file name inside it.")

    # os.open with O_EXCL and mode 0o666 lets the umask apply, unlike tempfile.mkstemp's 0o600.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = _temp_name(target)
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
    else:  # pragma: no cover
        raise FileExistsError(f"Could not create a temporary file beside {target!r}.")

    try:
        if os.path.exists(target):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        if "b" in mode:
            fh = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline="")
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise

    try:
        with fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    log.debug("wrote %s atomically", target)
