"""``inpaint-reproduce``: one paper table at one scale (``inpainting.reproduce``; docs/reproduce.md).

    inpaint-reproduce table=misf_table3 scale=demo
    inpaint-reproduce table=jpgnet_table2 scale=full paths.data_dir=/datasets trainer=gpu
    inpaint-reproduce table=jpgnet_table2 scale=full dry_run=true

Options are conf/reproduce.yaml's; every other override is a training override given to every job.
Exit status: 0 when every row produced its numbers, 1 when a row failed or is missing (the report
shows which and why), 2 when the table cannot be run (unknown table or row, missing data at full scale).
A dry run exits 0 unless the table cannot be planned.
"""
from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from inpainting.utils.resources import CONFIG_DIR


def run(cfg: DictConfig) -> int:
    from hydra.core.hydra_config import HydraConfig

    from inpainting.reproduce import SpecError, reproduce
    from inpainting.reproduce.table import job_overrides

    hydra_cfg = HydraConfig.get()
    try:
        result = reproduce(str(cfg.table), hydra_cfg.runtime.choices.get("scale") or "demo",
                           job_overrides(hydra_cfg.overrides.task), list(cfg.rows), list(cfg.datasets), cfg.out_dir,
                           str(cfg.runs_dir), cfg.weights, bool(cfg.dry_run), bool(cfg.estimate))
    except SpecError as error:
        print(f"inpaint-reproduce: {error}", file=sys.stderr)
        return 2
    if result.failed_rows and not cfg.dry_run:  # a dry run lists what is missing and runs nothing
        print(f"[reproduce] failed or missing rows: {', '.join(result.failed_rows)} (see {result.report})", file=sys.stderr)
        return 1
    return 0


@hydra.main(config_path=str(CONFIG_DIR), config_name="reproduce", version_base="1.3")
def _main(cfg: DictConfig) -> None:
    code = run(cfg)
    if code:
        sys.exit(code)


def main() -> None:
    _main()


if __name__ == "__main__":
    main()
