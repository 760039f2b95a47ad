"""Log the per-bin test metrics as a W&B table, so runs of one sweep (one W&B group) can be compared."""
from __future__ import annotations

import lightning as L
from lightning.pytorch.loggers import WandbLogger

OVERALL = "overall"


def per_bin_table(results: dict[str, dict], bins: list[str]) -> tuple[list[str], list[list]]:
    """``(columns, rows)``: one row per (method, bin) with every metric; ``results`` = ``model.test_results``."""
    metrics = sorted({key.split("/", 1)[0] for values in results.values() for key in values} - {"count"})
    columns = ["method", "bin", *metrics, "count"]
    rows = []
    for method, values in results.items():
        for bin_name in [*bins, OVERALL]:
            cells = [values.get(f"{m}/{bin_name}") for m in [*metrics, "count"]]
            if any(c is not None for c in cells):
                # notes such as "n/a (weights missing: ...)" stay in the markdown table; W&B columns are numeric
                rows.append([method, bin_name, *(float(c) if isinstance(c, (int, float)) else None for c in cells)])
    return columns, rows


class WandbTestTable(L.Callback):
    """On test end, log ``model.test_results`` as the W&B table ``key`` through every attached WandbLogger."""

    def __init__(self, key: str = "test/metrics_per_bin"):
        self.key = key

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        results = getattr(pl_module, "test_results", None)
        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        if not results or not loggers or trainer.global_rank != 0:
            return
        columns, rows = per_bin_table(results, list(getattr(pl_module, "bin_names", [])))
        for logger in loggers:
            logger.log_table(key=self.key, columns=columns, data=rows)
