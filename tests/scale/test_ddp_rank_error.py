"""trainer=ddp_sim: when one rank hits a bad file, status.json records that rank's error, naming the file."""
import json

import numpy as np
from PIL import Image

from tests.scale.helpers import TINY_RUN, run_cli, single_folder


def test_the_failing_ranks_error_lands_in_status_json(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val", "test"):
        (tmp_path / "folder" / split).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "folder" / split / "a.png")
    # val slot j of each bin takes image j % 2 and rank r takes pairs r, r + 2, ...: only rank 1 reads b.png
    (tmp_path / "folder" / "val" / "b.png").write_bytes(b"\x89PNG not really")
    result = run_cli([*TINY_RUN, "data=folder", f"paths.data_dir={tmp_path}", "data.images_per_bin=2",
                      "data.num_workers=0", "trainer=ddp_sim", "test=false", f"paths.log_dir={tmp_path / 'logs'}"])
    assert result.returncode != 0
    status = json.loads((single_folder(tmp_path / "logs") / "status.json").read_text())
    assert status["status"] == "failed" and status["rank"] == 1, status
    assert "b.png: cannot decode image" in status["error"], status["error"]
    assert set(status["ranks"]) <= {"0", "1"} and "b.png" in status["ranks"]["1"]
