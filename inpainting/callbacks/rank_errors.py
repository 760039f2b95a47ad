"""Each DDP rank's error in the run folder, written the moment Lightning hands it over."""
from __future__ import annotations

import pathlib
import time

from lightning.pytorch.callbacks import Callback

from inpainting.utils.runs import RANK_ERROR_FILE, error_record, write_json


class RankErrorRecorder(Callback):
    """Under DDP, every rank writes the exception Lightning hands it to ``status.rank<r>.json``, with
    the time, as soon as it is raised (before the rank tears down and its peers fail in turn);
    ``inpainting.utils.runs.write_status`` names the first of them in ``status.json``."""

    def __init__(self, output_dir: str | pathlib.Path) -> None:
        self.output_dir = pathlib.Path(output_dir)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if trainer.world_size > 1:
            record = {"rank": trainer.global_rank, "time": time.time(), **error_record(exception)}
            write_json(record, self.output_dir / RANK_ERROR_FILE.format(rank=trainer.global_rank))
