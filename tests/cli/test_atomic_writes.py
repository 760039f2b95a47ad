"""Every file a run writes is replaced atomically: a full disk at any write names the file and keeps the previous one."""
from __future__ import annotations

import contextlib
import errno
import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from inpainting.eval.tables import write_per_image_csv, write_tables
from inpainting.utils.atomic import WriteError, atomic_path
from inpainting.utils.checkpoint_io import AtomicCheckpointIO
from inpainting.utils.runs import write_json, write_status

ENOSPC = r"cannot write .*: No space left on device; the previous file \(if any\) is unchanged"


class _FillingFile:
    """A file that takes ``room`` bytes, then fails as a full disk does (the bytes before stay written)."""

    def __init__(self, handle, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data):
        if len(data) > self.room:
            self.handle.write(data[:self.room])
            self.handle.flush()
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def fill_disk(patch: pytest.MonkeyPatch) -> None:
    """From now on text, CSV and checkpoint writes (Path.open) and PIL saves get 10 bytes, then ENOSPC."""
    real_open, real_save = pathlib.Path.open, Image.Image.save

    def path_open(self, mode="r", *args, **kwargs):
        handle = real_open(self, mode, *args, **kwargs)
        return _FillingFile(handle, 10) if "w" in mode else handle

    def image_save(self, fp, *args, **kwargs):
        with open(fp, "wb") as handle:
            real_save(self, _FillingFile(handle, 10), *args, **{"format": "PNG", **kwargs})

    patch.setattr(pathlib.Path, "open", path_open)
    patch.setattr(Image.Image, "save", image_save)


def _only(folder: pathlib.Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _write_each_kind(folder: pathlib.Path, version: int) -> dict[str, callable]:
    """One writer per kind of file a run writes, each writing ``version`` into its file."""
    rows = [{"name": f"img{version}", "bin": 0, "psnr": float(version)}]
    return {
        "status.json": lambda: write_status(folder, objective=float(version)),
        "results.json": lambda: write_json({"version": version}, folder / "results.json"),
        "tables": lambda: write_tables({"m": {"psnr": float(version)}}, folder / "test_metrics", bins=["overall"]),
        "per-image CSV": lambda: write_per_image_csv(rows, folder / "test_per_image.csv"),
        "image": lambda: _save_png(folder / "test.png", version),
        "checkpoint": lambda: AtomicCheckpointIO().save_checkpoint({"version": version}, folder / "last.ckpt"),
    }


def _save_png(path: pathlib.Path, version: int) -> None:
    with atomic_path(path) as tmp:
        Image.fromarray(np.full((8, 8), version, np.uint8)).save(tmp)


def _contents(folder: pathlib.Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in _only(folder)}


def test_a_full_disk_at_each_kind_of_write_names_the_file_and_keeps_the_previous_one(tmp_path, monkeypatch):
    for write in _write_each_kind(tmp_path, 1).values():
        write()
    before = _contents(tmp_path)
    fill_disk(monkeypatch)
    for name, write in _write_each_kind(tmp_path, 2).items():
        with pytest.raises(WriteError, match=ENOSPC):
            write()
    monkeypatch.undo()
    assert _contents(tmp_path) == before, "every previous file is intact, and no temporary file is left"
    assert json.loads((tmp_path / "status.json").read_text())["objective"] == 1.0
    assert torch.load(tmp_path / "last.ckpt", weights_only=True) == {"version": 1}


def test_a_failed_status_record_does_not_hide_the_runs_own_error(tmp_path, monkeypatch, caplog):
    (tmp_path / "status.json").write_text('{"status": "ok"}')
    fill_disk(monkeypatch)
    write_status(tmp_path, RuntimeError("the run's own error"))  # logged, not raised: the caller raises its error
    monkeypatch.undo()
    assert (tmp_path / "status.json").read_text() == '{"status": "ok"}'
    assert "No space left on device" in caplog.text and "the run's own error" in caplog.text


def test_a_full_disk_at_a_checkpoint_fails_the_run_naming_it_and_keeps_the_last_good_one(tmp_path, monkeypatch):
    from inpainting.cli.train import train
    from tests.cli.helpers import TINY, TINY_DEMO, compose_config

    saves, real_write = [], pathlib.Path.write_bytes

    def write_then_fill(self, data):
        saves.append(self)
        if len(saves) > 2:  # epoch 0's best and last checkpoints fit, epoch 1's do not
            real_write(self, bytes(data)[:100])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", write_then_fill)
    out = tmp_path / "run"
    with pytest.raises(WriteError, match=r"cannot write .*/checkpoints/\S+\.ckpt: No space left on device"):
        train(compose_config("train", ["experiment=demo", *TINY, *TINY_DEMO, "trainer.max_epochs=2"], out))
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "failed" and "No space left on device" in status["error"]
    names = _only(out / "checkpoints")
    assert not [n for n in names if ".tmp" in n], names
    assert torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["epoch"] == 0


@contextlib.contextmanager
def _tmpfs(folder: pathlib.Path, size: str):
    folder.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def test_a_real_full_disk_keeps_every_previous_file(tmp_path):
    with _tmpfs(tmp_path / "disk", "256k") as disk:
        for write in _write_each_kind(disk, 1).values():
            write()
        before = _contents(disk)
        with open(disk / "filler", "wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:  # fill what is left
                filler.write(b"\0" * 4096)
        big = {"weights": torch.zeros(100_000)}  # 400 kB: more than the whole disk
        with pytest.raises(WriteError, match=ENOSPC):
            AtomicCheckpointIO().save_checkpoint(big, disk / "last.ckpt")
        with pytest.raises(WriteError, match=ENOSPC):
            write_json({"big": "x" * 100_000}, disk / "results.json")
        (disk / "filler").unlink()
        assert _contents(disk) == before


def test_a_write_killed_midway_leaves_the_file_intact_and_its_leftover_is_removed_later(tmp_path):
    from inpainting.utils.atomic import remove_stale_temporaries

    target = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"version": 1}, target)
    killed = subprocess.Popen(["sleep", "0"])
    killed.wait()  # a pid that no longer runs: the writer that was killed
    leftover = tmp_path / f".last.{killed.pid}-0123abcd.tmp.ckpt"
    leftover.write_bytes(b"PK partial")
    live = tmp_path / f".results.{os.getpid()}-0123abcd.tmp.json"  # a write still going on
    live.write_text("{")
    assert torch.load(target, weights_only=True) == {"version": 1}
    assert remove_stale_temporaries(tmp_path) == [leftover]
    assert _only(tmp_path) == [live.name, "last.ckpt"]
