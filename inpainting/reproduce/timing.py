"""JPGNet Table 4 through the same report as the metric tables: one row per JPGNet variant (its DGNet),
ms per image of PFUNet, UAFNet, the DGNet and the total, and each part's share, beside the paper's."""
from __future__ import annotations

import dataclasses
from typing import Mapping, Sequence

from inpainting.reproduce.collect import Outcome
from inpainting.reproduce.spec import Row, SpecError, TableSpec

# the paper's variants and the DGNet each one times (options of conf/model/dgnet)
VARIANT_DGNETS = {"JPGNet-StructFlow": "structureflow", "JPGNet-EdgeConnect": "edgeconnect", "JPGNet-RFRNet": "rfrnet"}


def timing_settings(spec: TableSpec, scale: str, extra: Sequence[str]) -> dict:
    """The spec's settings for ``scale``, replaced by ``key=value`` extras."""
    settings = dict((spec.raw.get("scales") or {}).get(scale) or {})
    if not settings:
        raise SpecError(f"timing table has no settings for scale={scale}; known: {sorted(spec.raw.get('scales') or {})}")
    for item in extra:
        key, value = item.split("=", 1)
        if key not in settings:
            raise SpecError(f"unknown timing option {key!r}; options: {sorted(settings)}")
        settings[key] = type(settings[key])(value) if not isinstance(settings[key], str) else value
    return settings


def variant_outcomes(ms: Mapping[str, float]) -> dict[str, Outcome]:
    """``ms``: ms per image of ``pfunet``, ``uafnet`` and each DGNet option -> one outcome per paper variant."""
    outcomes = {}
    for variant, dgnet in VARIANT_DGNETS.items():
        parts = {"pfunet": ms["pfunet"], "uafnet": ms["uafnet"], "dgnet": ms[dgnet]}
        total = sum(parts.values())
        values = {f"{p}_ms/overall": v for p, v in parts.items()} | {f"{p}_rate/overall": 100 * v / total for p, v in parts.items()}
        outcomes[variant] = Outcome("ok", values=values | {"total_ms/overall": total, "total_rate/overall": 100.0})
    return outcomes


def timing_rows() -> tuple[Row, ...]:
    return tuple(Row(id=name, name=name, paper_row=name) for name in VARIANT_DGNETS)


def run_timing_table(spec: TableSpec, scale: str, extra: Sequence[str]) -> tuple[TableSpec, dict[str, Outcome], str]:
    """Time every part; returns the spec with the variant rows, their outcomes and the settings/machine note."""
    from inpainting.cli.timing import DGNET_PREFIX, RANDOM_WEIGHTS_NOTE, time_modules
    from inpainting.utils.devices import machine_description

    settings = timing_settings(spec, scale, extra)
    others = [d for d in VARIANT_DGNETS.values() if d != "edgeconnect"]
    results = time_modules(str(settings["device"]), int(settings["image_size"]), int(settings["batch_size"]),
                           int(settings["warmup"]), int(settings["repeats"]),
                           ("pfunet", "dgnet", "uafnet", *(DGNET_PREFIX + d for d in others)))
    ms = {("edgeconnect" if r.module == "dgnet" else r.module.removeprefix(DGNET_PREFIX)): r.ms_per_image for r in results}
    note = (f"Settings: {', '.join(f'{k} {v}' for k, v in settings.items())}. {RANDOM_WEIGHTS_NOTE} "
            f"Machine: {machine_description(str(settings['device']))}.")
    return dataclasses.replace(spec, rows=timing_rows()), variant_outcomes(ms), note
