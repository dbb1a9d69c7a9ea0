"""Writing files so that a reader never sees half of one: a temporary name, then a rename.

Every file the pipeline writes for others to read (manifests, downloads, fetch records, the
exported dataset) goes through `atomic_path`: the content is written under a hidden name
beside the target, and renamed onto it only when complete. A crash, a full disk or a kill
leaves the old file (or none), never a truncated one. Files get the usual mode (0666 less
the umask), not the 0600 of `tempfile.mkstemp`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError

TEMPORARY_SUFFIX = ".part"


class FileChanged(PipelineError):
    """A file no longer has the bytes it was recorded with."""

    def __init__(self, path: Path, expected: str, found: str) -> None:
        super().__init__(
            f"{path}: its bytes changed since they were recorded "
            f"(sha256 {found[:12]}..., recorded {expected[:12]}...)"
        )
        self.path = path


def temporary_name(target: Path) -> Path:
    """A hidden, unique name in the target's folder (same filesystem, so the rename is atomic)."""
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}")


def leftovers(target: Path) -> list[Path]:
    """Temporary files an interrupted write of `target` left behind."""
    if not target.parent.is_dir():
        return []
    return sorted(target.parent.glob(f".{target.name}.*{TEMPORARY_SUFFIX}"))


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary path to write; it becomes `target` when the block succeeds.

    The temporary file exists (empty) when the block starts. On any exception it is removed
    and `target` is left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(target)
    os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield temporary
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass(frozen=True)
class Placed:
    """Where a write-once file ended up, and its bytes' sha256."""

    path: Path
    sha256: str


def write_once(target: Path, write: Callable[[Path], None]) -> Placed:
    """Write a file that is never replaced once it exists (an extracted image, which a staged
    or approved row may point to): `write(temporary)` fills a temporary file; if `target`
    holds the same bytes already, nothing changes; if it holds other bytes, they stay and
    the new ones go beside it as `<stem>.<sha256 prefix><suffix>`. A failure while writing
    (a full disk, a size limit) leaves every existing file as it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_name(target)
    try:
        write(temporary)
        return place_once(temporary, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def place_once(written: Path, target: Path) -> Placed:
    """Give a finished file (in the target's folder) the target's name, or keep it beside an
    existing target that holds other bytes (see `write_once`); `written` is then gone."""
    sha256 = file_sha256(written)
    try:
        return Placed(_place(written, target, sha256), sha256)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(written)


def write_once_bytes(target: Path, data: bytes) -> Placed:
    return write_once(target, lambda temporary: temporary.write_bytes(data))


def _place(temporary: Path, target: Path, sha256: str) -> Path:
    for name in (target, target.with_name(f"{target.stem}.{sha256[:16]}{target.suffix}")):
        try:
            _create(temporary, name)
            return name
        except FileExistsError:
            if file_sha256(name) == sha256:
                return name
    raise FileExistsError(f"{target}: two other files already hold its name and its variant")


def _create(temporary: Path, name: Path) -> None:
    """Give the temporary file its name, atomically, only if no file has that name yet."""
    try:
        os.link(temporary, name)  # fails if `name` exists: never replaces
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: check, then rename (a narrow race)
        if name.exists():
            raise FileExistsError(name) from None
        os.replace(temporary, name)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(target: Path, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    with atomic_path(target) as temporary:
        if isinstance(data, str):
            temporary.write_text(data, encoding=encoding)
        else:
            temporary.write_bytes(data)
    return target


def write_json_atomic(target: Path, value: Any, **dump_options: Any) -> Path:
    """`value` as JSON (indented, non-JSON values as strings unless told otherwise)."""
    options = {"indent": 2, "default": str, **dump_options}
    return write_atomic(target, json.dumps(value, **options))


def copy_atomic(source: Path, target: Path, *, sha256: str | None = None) -> Path:
    """Copy `source` to `target`; with `sha256`, the copy must have exactly those bytes, or
    FileChanged is raised and `target` is left as it was."""
    with atomic_path(target) as temporary:
        if sha256 is None:
            shutil.copyfile(source, temporary)
        else:
            digest = hashlib.sha256()
            with open(source, "rb") as reading, open(temporary, "wb") as writing:
                for block in iter(lambda: reading.read(1 << 20), b""):
                    digest.update(block)
                    writing.write(block)
            if digest.hexdigest() != sha256:
                raise FileChanged(source, sha256, digest.hexdigest())
    return target


def remove_leftovers(folder: Path) -> list[Path]:
    """Remove what interrupted writes left in `folder` (a killed run's temporary files)."""
    removed = sorted(folder.glob(f".*{TEMPORARY_SUFFIX}")) if folder.is_dir() else []
    for path in removed:
        path.unlink(missing_ok=True)
    return removed
