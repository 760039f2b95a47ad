"""inpaint-check-data reports counts per split and bin, and names bad files."""
import numpy as np
from PIL import Image

from inpainting.cli.check_data import check
from inpainting.utils.resources import compose


def test_check_data_reports_problems(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # keep long tmp paths on one line
    rng = np.random.default_rng(0)
    for split, count in (("train", 2), ("val", 1), ("test", 1)):
        for i in range(count):
            (tmp_path / "folder" / split).mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(tmp_path / f"folder/{split}/{i}.png")
    (tmp_path / "folder/train/broken.png").write_bytes(b"\x89PNG garbage")
    masks = tmp_path / "masks"
    masks.mkdir()
    for name, rows in (("a.png", 4), ("b.png", 10), ("empty.png", 0)):
        mask = np.zeros((20, 20), np.uint8)
        mask[:rows] = 255
        Image.fromarray(mask).save(masks / name)
    status = check(compose("check_data", [f"paths.data_dir={tmp_path}", "data=folder", "data.image_size=20", "data.num_workers=0",
                   f"data.eval_masks={{_target_:inpainting.data.MaskFiles,root:'{masks}'}}"]))
    out = capsys.readouterr().out
    assert status == 1
    assert "broken.png: cannot decode image" in out
    assert "empty.png: mask has no hole pixels" in out
    assert "Images per split" in out and "Mask files per hole-ratio bin" in out


def test_check_data_clean_demo(capsys):
    assert check(compose("check_data", ["data=demo"])) == 0
    assert "no problems found" in capsys.readouterr().out
