"""Atomic file writes: readers see the old file or the new one, never half of one.

A file is written to a temporary file beside its target, named
``.<target name>.<16 hex digits>.tmp``, and renamed over the target when complete.
:func:`atomic_path` does this for one file. :func:`new_temp`, :func:`commit` and
:func:`discard` do it for several files that must change together (the tables of one
export): stage every temporary file first, then rename them all. A process killed while
writing leaves its temporary file behind; :func:`remove_stale_temps` removes such files,
and must only be called while holding a lock that every writer of the target takes.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["atomic_path", "commit", "discard", "new_temp", "remove_stale_temps"]


def _default_mode() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _temp_pattern(target: Path) -> re.Pattern[str]:
    # The 16-hex form is this module's; the 8-character form is what earlier clvlab
    # versions (tempfile.mkstemp) left behind. Neither can match another target's name.
    return re.compile(re.escape(f".{target.name}.") + r"(?:[0-9a-f]{16}|[a-z0-9_]{8})\.tmp")


def new_temp(target: str | os.PathLike[str]) -> Path:
    """Create an empty temporary file beside ``target`` and return its path.

    The file gets the mode of ``target`` if it exists, else the mode a plain ``open``
    would give. The folder is created if needed.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if target.is_file() else _default_mode()
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # pragma: no cover - 64 random bits
            continue
        try:
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return tmp


def discard(temps: Sequence[Path]) -> None:
    """Remove temporary files (missing ones are ignored)."""
    for tmp in temps:
        tmp.unlink(missing_ok=True)


def commit(pairs: Sequence[tuple[Path, Path]]) -> None:
    """Rename each ``(temporary, target)`` pair, in order, after syncing every file.

    If a rename fails, the targets already replaced are put back (from a hard link to
    each old file, made just before its rename) and the remaining temporary files are
    removed, so the targets change together or not at all. A process killed between two renames (a
    window of microseconds) can still leave some replaced and some not.
    """
    for tmp, _ in pairs:
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
    done: list[tuple[Path, Path | None]] = []  # replaced targets and their backups
    try:
        for tmp, target in pairs:
            backup = _backup(target) if len(pairs) > 1 else None
            try:
                os.replace(tmp, target)
            except BaseException:
                if backup is not None:
                    backup.unlink(missing_ok=True)
                raise
            done.append((target, backup))
    except BaseException:
        for target, backup in reversed(done):
            if backup is not None:
                os.replace(backup, target)
            else:  # the table file is new: take it back
                target.unlink(missing_ok=True)
        discard([tmp for tmp, _ in pairs])
        raise
    for _, backup in done:
        if backup is not None:
            backup.unlink(missing_ok=True)


def _backup(target: Path) -> Path | None:
    """A second name for ``target``'s current content (a hard link, or a copy where the
    file system has no hard links), named like a temporary file; None if no file."""
    if not target.is_file():
        return None
    backup = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)
    return backup


def remove_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of ``target`` left by killed writers; return them.

    Call this only while holding the lock that every writer of ``target`` takes:
    without it, the temporary file of a writer still at work would be removed.
    """
    target = Path(target)
    if not target.parent.is_dir():
        return []
    pattern = _temp_pattern(target)
    removed = []
    for entry in target.parent.iterdir():
        if pattern.fullmatch(entry.name) and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    The temporary file lives in the same directory, so :func:`os.replace` is an atomic
    rename on POSIX and Windows. On any exception the temporary file is removed and the
    previous ``target`` (if any) is left untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "x.txt").read_text()
    'hello'
    """
    target = Path(target)
    tmp = new_temp(target)
    try:
        yield tmp
        commit([(tmp, target)])
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
