"""The files every evaluation writes (``inpaint-train``'s test, ``inpaint-eval``, ``trainer.test()`` with the
:class:`~inpainting.callbacks.report.TestReport` callback), on rank 0:

* ``tables/test_metrics.md`` (for reading; an n/a cell says why) and ``tables/test_metrics.csv``
  (numbers only: a missing value is an empty cell, the reason is in the markdown and in results.json),
* ``tables/test_per_image.csv`` (the method's per-image scores; the other rows' as ``<row>/<metric>`` columns),
* ``results.json`` (schema 1: ``run_name``, ``checkpoint``, ``bins``, ``counts``,
  ``methods[row][metric][bin]`` = number or null, ``notes[metric]``, ``excluded``: the test masks
  whose hole ratio falls in no bin, as ``[name, ratio]``; ``method``: the row of ``methods`` that is the
  model, ``experiment``, and ``table``/``row`` when ``inpaint-reproduce`` ran the job; ``predictions``: the
  folder of each row when ``inpaint-eval predictions=...`` scored files on disk). After the test,
  ``inpaint-train`` and ``inpaint-eval ckpt_path=...`` add ``final_metrics`` (:func:`add_final_metrics`): it is
  the one result file of a run (``status.json`` says how the run ended, with the sweep objective).
"""
from __future__ import annotations

import json
import pathlib
from typing import Any, Mapping, Sequence

from inpainting.eval.engine import EvalResults
from inpainting.eval.tables import write_per_image_csv, write_tables
from inpainting.utils.runs import write_json

RESULTS_FILE = "results.json"
PROTOCOL_NOTE = (
    "Protocol: composited output (prediction in the holes, ground truth elsewhere) scored on the whole image; "
    "PSNR/SSIM on uint8-truncated images (data range 255, PSNR capped at 100; SSIM 7x7 uniform window, sample "
    "covariance, per channel); L1 = mean |composite - gt| in [0,1]; LPIPS = VGG v0.1 on [-1,1]; FID = torchmetrics' "
    "FID (torch-fidelity's InceptionV3) per bin, composites vs their ground truth."
)


def excluded_note(excluded: Sequence[Sequence], bins: Sequence[str]) -> str:
    """The table note that says which test masks no bin holds (the counts would hide them)."""
    name, ratio = excluded[0]
    return (f"Left out: {len(excluded)} test mask(s) whose hole ratio falls in no bin of {', '.join(bins)} "
            f"(first: {name}, {float(ratio):.2%}); results.json lists them all.")


def write_report(results: EvalResults, output_dir: str | pathlib.Path, run_name: str,
                 checkpoint: str | None = None, title: str | None = None,
                 excluded: Sequence[Sequence] = (), method: str | None = None,
                 job: Mapping[str, Any] | None = None) -> dict[str, pathlib.Path]:
    """Write ``tables/test_metrics.{md,csv}``, ``tables/test_per_image.csv`` and ``results.json`` under ``output_dir``.

    ``checkpoint`` is stored relative to ``output_dir`` when it lies inside it. ``excluded``: the
    ``(mask, hole ratio)`` pairs the test set left out (its ``EvalDataset.excluded``).
    ``method``: the row that is the evaluated model; ``job``: what the job is (``experiment``, ``table``, ``row``).
    """
    output_dir = pathlib.Path(output_dir)
    tables = output_dir / "tables"
    title = title or f"{run_name}: test metrics on the composited output"
    notes = [PROTOCOL_NOTE, *([excluded_note(excluded, results.bins)] if excluded else [])]
    paired = "\n" + paired_section(results, method) if method in results.table and len(results.table) > 1 else ""
    md, csv_path = write_tables(results.table_rows(), tables / "test_metrics", bins=results.bins, title=title,
                                notes=notes, numbers_only=True, appendix=paired)
    per_image = write_per_image_csv(results.per_image, tables / "test_per_image.csv")
    if checkpoint is not None:
        path = pathlib.Path(checkpoint).resolve()
        checkpoint = str(path.relative_to(output_dir.resolve())) if path.is_relative_to(output_dir.resolve()) else str(path)
    json_path = output_dir / RESULTS_FILE
    identity = {"method": method, "experiment": None, "table": None, "row": None} | dict(job or {})
    write_json(results.to_json(run_name, checkpoint, excluded) | identity, json_path)
    return {"markdown": md, "csv": csv_path, "per_image": per_image, "results": json_path}


def add_final_metrics(output_dir: str | pathlib.Path, metrics: Mapping[str, float]) -> pathlib.Path:
    """Add ``final_metrics`` to the ``results.json`` the test just wrote: the last value of every metric the run
    logged (Lightning's ``callback_metrics`` after the test: ``train/*``, ``val/*``, ``test/*`` over all bins)."""
    path = pathlib.Path(output_dir) / RESULTS_FILE
    results = json.loads(path.read_text(encoding="utf-8"))
    write_json(results | {"final_metrics": {name: float(value) for name, value in metrics.items()}}, path)
    return path


def paired_section(results: EvalResults, method: str) -> str:
    """``method`` against every other row (Input, classical rows, other prediction folders) on the same test
    pairs: mean per-image difference, its 95 % bootstrap interval and a verdict (``inpainting.eval.claims``)."""
    from inpainting.eval import claims

    scored = set(results.per_image[0]) if results.per_image else set()
    metrics = [m for m in results.metrics if m in scored]  # per-image metrics only (FID is a set statistic)
    others = [row for row in results.table if row != method]
    found = claims.pairwise_claims(method, others, metrics)
    comparisons = claims.evaluate(found, claims.per_image_scores(results.per_image, method))
    return claims.markdown_section(found, comparisons, show_paper=False, heading="## Paired differences")
