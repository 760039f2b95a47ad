"""A tiny Hydra app for the device-pool launcher test: records its devices and time window.

Writes ``<run dir>/seen.json`` with ``CUDA_VISIBLE_DEVICES``, start and end times; ``fail=true``
raises after recording, to test a failing job.
"""
import json
import os
import pathlib
import time

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig

ConfigStore.instance().store(name="pool_app", node={"x": 0, "sleep": 1.0, "fail": False})


@hydra.main(version_base="1.3", config_path=None, config_name="pool_app")
def main(cfg) -> float:
    out = pathlib.Path(HydraConfig.get().runtime.output_dir)
    start = time.time()
    time.sleep(cfg.sleep)
    seen = {"x": cfg.x, "devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time()}
    (out / "seen.json").write_text(json.dumps(seen))
    if cfg.fail:
        raise RuntimeError(f"job x={cfg.x} fails on purpose")
    (out / "status.json").write_text(json.dumps({"status": "ok", "objective": float(cfg.x)}))
    return float(cfg.x)


if __name__ == "__main__":
    main()
