"""Files written so a reader never sees half of one, and extracted images written once."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from pipeline.files import atomic_path, file_sha256, write_atomic, write_once, write_once_bytes


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "manifest.json", "old")
    with pytest.raises(OSError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_an_image_is_written_once_and_never_replaced(tmp_path: Path) -> None:
    first = write_once_bytes(tmp_path / "paper-000.png", b"first bytes")
    again = write_once_bytes(tmp_path / "paper-000.png", b"first bytes")
    other = write_once_bytes(tmp_path / "paper-000.png", b"other bytes")
    assert first.path == again.path == tmp_path / "paper-000.png"
    assert first.path.read_bytes() == b"first bytes"  # still what a row may point to
    assert other.path.name == f"paper-000.{other.sha256[:16]}.png"
    assert other.path.read_bytes() == b"other bytes" and file_sha256(other.path) == other.sha256
    assert write_once_bytes(tmp_path / "paper-000.png", b"other bytes").path == other.path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.path.name, other.path.name])


def test_a_write_that_fails_part_way_changes_nothing(tmp_path: Path) -> None:
    kept = write_once_bytes(tmp_path / "paper-000.png", b"approved image")

    def full_disk(temporary: Path) -> None:
        temporary.write_bytes(b"approv")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_once(tmp_path / "paper-000.png", full_disk)
    assert kept.path.read_bytes() == b"approved image"
    assert [p.name for p in tmp_path.iterdir()] == ["paper-000.png"]
