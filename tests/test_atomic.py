"""atomic_write: the old file survives an exception and a SIGKILL in the middle of a write."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genevec._atomic import atomic_write

REPO = Path(__file__).resolve().parents[1]


def _leftovers(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(".tmp"))


def test_writes_text_and_bytes(tmp_path):
    text, data = tmp_path / "a.txt", tmp_path / "b.bin"
    with atomic_write(text) as fh:
        fh.write("EGFR\tTP53\n")
    with atomic_write(str(data), "wb") as fh:
        fh.write(b"\x00\x01\xff")
    assert text.read_bytes() == b"EGFR\tTP53\n"  # no newline translation, utf-8
    assert data.read_bytes() == b"\x00\x01\xff"
    assert _leftovers(tmp_path) == []


def test_encoding_is_used(tmp_path):
    path = tmp_path / "latin.txt"
    with atomic_write(path, encoding="latin-1") as fh:
        fh.write("é")
    assert path.read_bytes() == b"\xe9"


def test_exception_mid_write_keeps_old_file(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("old content\n")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_write(path) as fh:
            fh.write("new content that is half written")
            fh.flush()
            raise RuntimeError("boom")
    assert path.read_text() == "old content\n"
    assert _leftovers(tmp_path) == []


def test_exception_mid_write_creates_nothing(tmp_path):
    path = tmp_path / "new.txt"
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as fh:
            fh.write("partial")
            raise KeyboardInterrupt
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_sigkill_mid_write_keeps_old_file(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("old content\n")
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from genevec._atomic import atomic_write
        with atomic_write({str(path)!r}) as fh:
            fh.write("x" * 1_000_000)
            fh.flush()
            print("READY", flush=True)
            time.sleep(60)
            fh.write("never")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "READY"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()
    assert path.read_text() == "old content\n"
    # The killed writer left its hidden temporary file (1 MB written) and nothing else.
    left = _leftovers(tmp_path)
    assert len(left) == 1 and left[0].startswith(".vectors.txt.")
    assert (tmp_path / left[0]).stat().st_size == 1_000_000


def test_replacing_keeps_permissions(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    with atomic_write(path) as fh:
        fh.write("new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.read_text() == "new"


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "n.txt") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "n.txt").stat().st_mode) == 0o644


def test_symlink_is_followed(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with atomic_write(link) as fh:
        fh.write("new")
    assert link.is_symlink()
    assert real.read_text() == "new"


def test_bad_mode_message():
    with pytest.raises(ValueError, match=r"mode must be one of 'w', 'wt', 'wb', got 'a'\. .*appending cannot be atomic"):
        with atomic_write("x.txt", "a"):
            pass


def test_missing_folder_message(tmp_path):
    target = tmp_path / "no" / "such" / "v.txt"
    with pytest.raises(FileNotFoundError, match=r"the folder '.*no/such' does not exist\. Create it first, "
                                                 r"e\.g\. os\.makedirs\("):
        with atomic_write(target):
            pass


def test_folder_target_message(tmp_path):
    with pytest.raises(IsADirectoryError, match="it is a folder. Give a file name inside it"):
        with atomic_write(tmp_path):
            pass
