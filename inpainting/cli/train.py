"""Train (and then test) a model: ``inpaint-train experiment=<name> [overrides]``.

Everything a run produces lands in its Hydra run folder (``paths.output_dir``):
``config_resolved.yaml``, ``checkpoints/`` (``last.ckpt``, ``best_*.ckpt``), ``csv/metrics.csv``,
``status.json`` (ok, failed with the error, or interrupted with the signal; the sweep objective and the step), and
from the ``TestReport`` callback ``results.json`` (with the last logged metrics as ``final_metrics``) and
``tables/`` (per-bin metrics as markdown and CSV, per-image scores), ``images/``, ``wandb_id.txt`` with the W&B
logger.

Resuming (``ckpt_path=last``, a run folder, or a ``<run>/checkpoints/*.ckpt``) continues in that
run's folder with the same W&B run; see ``resume_run_dir_override``. The checkpoint (and an
``init_from`` file) is checked before anything is written, and a fresh start in a folder that already
holds a run is refused; the run's ``config_resolved.yaml`` and
``.hydra/`` stay its record (a resume's own config goes to ``resumes/<n>/``), and an override that
changes the model is an error showing the difference. Under DDP ``status.json`` names the first
rank's error (``status.rank<r>.json`` holds each failed rank's). SIGTERM, SIGINT and SIGHUP end a run
as "interrupted" with exit status 128+N; a training set that gives no batch is an error
(see docs/bad-inputs.md).
"""
from __future__ import annotations

import logging
import pathlib
import sys

import hydra
from lightning.fabric.utilities.rank_zero import rank_zero_only
from omegaconf import DictConfig

from inpainting.callbacks.rank_errors import RankErrorRecorder
from inpainting.cli.common import (
    CONFIG_DIR,
    build_run,
    find_test_report,
    finish_loggers,
    prepare_run,
)
from inpainting.cli.options import exit_if_missing
from inpainting.eval.report import add_final_metrics
from inpainting.launch.ddp_children import ddp_job_scope
from inpainting.utils.interrupts import interrupts_end_the_run
from inpainting.utils.run_folder import RunFolder
from inpainting.utils.runs import (
    RESOLVED_CONFIG,
    check_checkpoint_file,
    clear_rank_errors,
    resolve_checkpoint,
    run_folder_of,
    write_status,
)

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict:
    """Fit, then test, as configured; returns ``{"metrics": last logged values, "objective", "global_step"}``.

    ``<run>/status.json`` records success, the error (a failed sweep job keeps its row) or the signal
    that interrupted the run (then ``RunInterrupted``, a ``SystemExit`` with status 128+N, is raised).
    """
    output_dir = pathlib.Path(cfg.paths.output_dir)
    run, checked = None, False
    try:
        with interrupts_end_the_run():  # SIGTERM/SIGINT/SIGHUP: status "interrupted", exit status 128+N
            ckpt = _checked_inputs(cfg, output_dir)
            checked = True
            prepare_run(cfg)
            run = build_run(cfg)
            _record_rank_errors(run.trainer, output_dir)
            with ddp_job_scope(run.trainer, output_dir):
                summary = _fit_and_test(cfg, run, output_dir, ckpt)
    except BaseException as error:
        # a resume refused by the checks leaves an existing run's record (status.json included) as it was
        if _is_rank_zero(run) and (checked or not (output_dir / RESOLVED_CONFIG).is_file()):
            write_status(output_dir, error)
        raise
    finally:
        if run is not None:
            finish_loggers(run.loggers)
    if _is_rank_zero(run):
        write_status(output_dir, objective=summary["objective"], global_step=summary["global_step"])
    return summary


def _checked_inputs(cfg: DictConfig, output_dir: pathlib.Path) -> str | None:
    """Check the resume checkpoint and the ``init_from`` file before anything is written; returns
    the checkpoint to resume from (None: a fresh start)."""
    if cfg.get("init_from"):
        if not pathlib.Path(cfg.init_from).is_file():
            raise FileNotFoundError(f"init_from={cfg.init_from}: no such checkpoint file")
        check_checkpoint_file(cfg.init_from)
    if not cfg.get("train", True):
        return None
    ckpt = resolve_checkpoint(cfg.get("ckpt_path"), output_dir)
    run = RunFolder.of(ckpt) if ckpt else None
    if run is not None:
        run.check_resume(cfg.model, ckpt)
    elif cfg.get("ckpt_path") != "auto" and rank_zero_only.rank == 0:  # DDP ranks start once rank 0 has written
        _refuse_used_run_folder(output_dir)
    return ckpt


def _refuse_used_run_folder(output_dir: pathlib.Path) -> None:
    """A fresh start in a folder that holds a run would mix the two (its config beside new weights; two
    sweeps with one ``hydra.sweep.dir`` sharing job folders). ``ckpt_path=auto`` (a requeued job) may
    start afresh there: its config, if different, goes to ``resumes/<n>/``."""
    used = [name for name in (RESOLVED_CONFIG, "checkpoints") if (output_dir / name).exists()]
    if used:
        raise FileExistsError(f"{output_dir} already holds a run ({', '.join(used)}); a new run there would mix "
                              f"with it. Resume it with ckpt_path={output_dir}, or give the new run its own folder "
                              "(hydra.run.dir=..., or hydra.sweep.dir=... for a sweep)")


def _check_some_batch(trainer) -> None:
    """A training set smaller than one batch gives no step at all (the loaders drop the last partial
    batch, as the authors' do) and Lightning's fit just returns: without this the run reported ok."""
    if trainer.num_training_batches == 0:
        loader = trainer.train_dataloader
        size = len(loader.dataset) if hasattr(getattr(loader, "dataset", None), "__len__") else "?"
        raise ValueError(f"the training set gives no batch: {size} sample(s) per epoch, batch size "
                         f"{getattr(loader, 'batch_size', '?')} per device, and the last partial batch is "
                         "dropped; use more images (data.samples_per_epoch) or a smaller data.batch_size")


def _record_rank_errors(trainer, output_dir: pathlib.Path) -> None:
    if trainer.is_global_zero:
        clear_rank_errors(output_dir)  # an earlier attempt's; the other ranks start later
    trainer.callbacks.append(RankErrorRecorder(output_dir))


def _fit_and_test(cfg: DictConfig, run, output_dir: pathlib.Path, ckpt: str | None) -> dict:
    if cfg.get("init_from"):
        run.model.load_weights(cfg.init_from)
    if cfg.get("train", True):
        if ckpt:
            log.info("resuming from %s", ckpt)
        run.trainer.fit(run.model, datamodule=run.datamodule, ckpt_path=ckpt, weights_only=True)
        _check_some_batch(run.trainer)
    metrics = {k: float(v) for k, v in run.trainer.callback_metrics.items()}
    if cfg.get("test", True) and not run.trainer.fast_dev_run:
        best = handoff_checkpoint(run.trainer, output_dir, cfg.get("handoff_checkpoint", "best"))
        reported = find_test_report(run.trainer) is not None
        if not reported:
            log.warning("no TestReport callback configured: the test writes no tables or results.json")
        run.trainer.test(run.model, datamodule=run.datamodule, ckpt_path=best, weights_only=True)
        metrics.update({k: float(v) for k, v in run.trainer.callback_metrics.items()})
        if reported and run.trainer.is_global_zero:
            add_final_metrics(output_dir, metrics)
    objective = _objective(run.trainer, metrics, cfg.get("optimized_metric"))
    return {"metrics": metrics, "objective": objective, "global_step": run.trainer.global_step}


def handoff_checkpoint(trainer, output_dir: pathlib.Path, rule: str) -> str | None:
    """The checkpoint the test scores and later stages load (``handoff_checkpoint``: ``best`` | ``last``)."""
    if rule == "last":
        last = output_dir / "checkpoints" / "last.ckpt"
        if trainer.global_step > 0 and not last.is_file():
            raise FileNotFoundError(f"handoff_checkpoint=last but {last} was not written (no validation ran?)")
        return str(last) if last.is_file() else None
    if rule != "best":
        raise ValueError(f"handoff_checkpoint must be best or last, got {rule!r}")
    best = getattr(trainer.checkpoint_callback, "best_model_path", "") or None
    if best is None:
        log.warning("no best checkpoint recorded: testing the current weights")
    return best


def _objective(trainer, metrics: dict, name: str | None) -> float | None:
    """``name``'s value for the checkpoint that was tested: the best score when the checkpoint
    callback monitors ``name`` (the last epoch's value would reward a run that peaked and fell back)."""
    if not name:
        return None
    checkpoint = trainer.checkpoint_callback
    best = getattr(checkpoint, "best_model_score", None)
    if best is not None and getattr(checkpoint, "monitor", None) == name:
        return float(best)
    return metrics.get(name)


def _is_rank_zero(run) -> bool:
    return run.trainer.is_global_zero if run is not None else rank_zero_only.rank == 0


def resume_run_dir_override(argv: list[str]) -> str | None:
    """``hydra.run.dir=...`` that puts a resumed single run back in its own folder, or None.

    ``ckpt_path=<run folder>`` or ``=<run>/checkpoints/x.ckpt`` gives that folder; ``ckpt_path=last``
    gives the newest run of this ``run_name`` that has a ``last.ckpt`` (resolved by Hydra once the
    config is composed). Nothing is added in multirun mode, when ``hydra.run.dir`` is given, for
    ``ckpt_path=auto`` or for a checkpoint outside a run folder (that starts a new folder).
    """
    if any(a in ("-m", "--multirun") or a.startswith("hydra.run.dir=") for a in argv):
        return None
    values = [a.split("=", 1)[1] for a in argv if a.startswith("ckpt_path=")]
    if not values or values[-1].strip("'\"") in ("", "null", "auto"):
        return None
    value = values[-1].strip("'\"")
    if value == "last":
        return "hydra.run.dir='${inpainting_latest_run:${paths.log_dir}/${run_name}/runs}'"
    folder = run_folder_of(value)
    return f'hydra.run.dir="{folder}"' if folder is not None else None


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    exit_if_missing(cfg, "inpaint-train")
    return train(cfg)["objective"]


def main() -> float | None:
    """Console entry point (``inpaint-train``): Hydra's main, with the resume folder filled in.

    A resumed run's ``.hydra/`` is left as its record (Hydra would rewrite it before any check);
    the resume's own config and overrides go to ``resumes/<n>/`` (``save_resolved_config``).
    """
    override = resume_run_dir_override(sys.argv[1:])
    if override is not None:
        sys.argv += [override, "hydra.output_subdir=null"]
    return _hydra_main()


if __name__ == "__main__":
    main()
