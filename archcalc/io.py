"""Every file archcalc writes goes through :func:`atomic_output`: all of it, or nothing.

The data goes to a temporary file in the target's directory (same file system, so the
final :func:`os.replace` is atomic) and is renamed over the target only once complete and
flushed. On any error — a full disk, a plotting failure, Ctrl-C — the temporary file is
removed and the target is untouched; the error names the target file.
A directory, an empty path or an existing non-regular file (``/dev/full``, a FIFO) as the
target is refused before anything is written.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator


class OutputError(OSError):
    """A file that cannot be written; ``str()`` is one line naming it."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        super().__init__(f"cannot write {self.path or '(empty path)'}: {problem}")

    def __str__(self) -> str:
        return self.args[0]


def check_output_path(path: str | os.PathLike) -> Path:
    """The target as a Path, or :class:`OutputError` if it cannot be a file we replace."""
    text = os.fspath(path)
    if not text or not text.strip():
        raise OutputError(text, "expected a file name, got an empty path")
    target = Path(text)
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(text, exc.strerror or str(exc)) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(text, "it is a directory; expected a file name")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputError(text, "it exists and is not a regular file")
    if text.endswith(os.sep):
        raise OutputError(text, "expected a file name, got a directory path")
    if not target.parent.is_dir():
        raise OutputError(text, f"no directory {str(target.parent)!r}")
    return target


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; write it; it replaces ``path`` on success.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output(folder / "a.txt") as tmp:
    ...     _ = tmp.write_text("complete")
    >>> (folder / "a.txt").read_text(), sorted(p.name for p in folder.iterdir())
    ('complete', ['a.txt'])
    """
    target = check_output_path(path)
    suffix = target.suffix  # keep the extension: matplotlib picks the format from it
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    except OSError as exc:
        raise OutputError(target, exc.strerror or str(exc)) from None
    os.close(handle)
    temp = Path(temp_name)
    done = False
    try:
        yield temp
        with open(temp, "rb+") as written:  # the data must be on disk before the rename
            os.fsync(written.fileno())
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(temp, mode)
        os.replace(temp, target)
        done = True
    except OSError as exc:
        if isinstance(exc, OutputError):
            raise
        raise OutputError(target, exc.strerror or str(exc)) from None
    finally:
        if not done:
            with contextlib.suppress(OSError):
                temp.unlink()


def atomic_write(path: str | os.PathLike, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_output`)."""
    with atomic_output(path) as temp:
        if isinstance(data, str):
            temp.write_text(data, encoding=encoding)
        else:
            temp.write_bytes(data)
    return Path(path)


def save_figure(figure, path: str | os.PathLike, **kwargs) -> Path:
    """``figure.savefig(path)`` through :func:`atomic_output` (format from the suffix)."""
    target = Path(os.fspath(path))
    # the format from the target's suffix (the temporary name ends in .tmp), else matplotlib's default
    fmt = kwargs.pop("format", None) or target.suffix.lstrip(".").lower() or None
    if fmt is None:
        import matplotlib

        fmt = matplotlib.rcParams["savefig.format"]
    with atomic_output(target) as temp:
        figure.savefig(temp, format=fmt, **kwargs)
    return target


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
