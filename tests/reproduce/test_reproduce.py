"""Table specs, job planning (each job one composable inpaint-train command), reports of job folders
(fabricated and real), exit status, the full-scale data check."""
from __future__ import annotations

import csv
import json
import pathlib
import re
import shlex

import pytest
import torch
from omegaconf import OmegaConf

from inpainting import reproduce as rp
from inpainting.reproduce import collect, plan, report, run
from inpainting.reproduce import spec as specs
from inpainting.utils.resources import CONFIG_DIR, compose

BINS = ["0-20%", "20-40%", "40-60%"]


def _fake_job(folder: pathlib.Path, experiment: str, psnr: float, status: dict | None = None, results: bool = True,
              method: str = "MISF", classical: dict | None = None, row: str | None = None) -> pathlib.Path:
    folder.mkdir(parents=True)
    if status is not None:
        (folder / "status.json").write_text(json.dumps(status))
    if results:
        bins = BINS + ["overall"]
        def values(p, s):
            return {"psnr": dict.fromkeys(bins, p), "ssim": dict.fromkeys(bins, s), "lpips": dict.fromkeys(bins)}

        (folder / "results.json").write_text(json.dumps({
            "schema": 1, "run_name": experiment, "checkpoint": "checkpoints/best_step0000002.ckpt", "bins": bins,
            "counts": dict.fromkeys(bins, 2), "methods": {"Input": values(10.0, 0.5), method: values(psnr, 0.7),
                                                            **{name: values(p, 0.6) for name, p in (classical or {}).items()}},
            "notes": {"lpips": "weights missing: vgg16-397923af.pth"},
            "method": method, "experiment": experiment, "table": "t", "row": row}))
    return folder


def test_every_spec_loads_and_every_runnable_row_names_an_existing_experiment():
    experiments = {p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml")}
    for path in specs.TABLES_DIR.glob("*.yaml"):
        spec = rp.load_spec(path.stem)
        assert spec.kind in ("metrics", "timing"), path
        for row in spec.rows:
            assert row.pending or row.input_of or row.experiment in experiments, f"{path.name}: {row.name} -> {row.experiment}"
        if spec.kind == "metrics":
            rp.phases(spec.rows)  # dependency order exists


def test_unknown_table_names_the_known_ones():
    with pytest.raises(rp.SpecError, match="misf_table3"):
        rp.load_spec("no_such_table")


def test_overrides_merge_by_key_and_cli_wins():
    merged = plan.merge_overrides(["data=places2", "trainer=gpu"], ["data=celeba", "+model.x=1"])
    assert merged == ["trainer=gpu", "data=celeba", "+model.x=1"]


def test_rows_are_the_papers_rows_in_its_order():
    from inpainting.eval.paper_tables import load_paper_table

    for path in specs.TABLES_DIR.glob("*.yaml"):
        spec = rp.load_spec(path.stem)
        if spec.kind != "metrics" or not spec.paper_table:  # jpgnet_classical: our own table, no paper rows
            continue
        paper = load_paper_table(spec.paper_table)
        shown = [r for r in spec.rows if r.show]
        assert [r.paper_row for r in shown] == paper.row_names, path.name
        assert set(spec.datasets) == set(paper.datasets), path.name


def test_jpgnet_rows_run_after_their_stages_and_selection_pulls_in_dependencies():
    spec = rp.load_spec("jpgnet_table3")
    order = [[r.experiment for r in phase] for phase in rp.phases(spec.rows)]
    assert set(order[0]) >= {"jpgnet_pfunet", "edgeconnect_edge", "edgeconnect_inpaint"}
    assert "edgeconnect_edge_inpaint" in order[1] and "jpgnet_uafnet" in order[2]  # stage 3 after G1 and G2
    picked = {r.id for r in rp.select_rows(spec.rows, ["JPGNet-EdgeConnect-S.F."])}
    assert picked == {"pfunet", "dgnet_edge", "dgnet_inpaint", "dgnet_edge_inpaint", "JPGNet-EdgeConnect-S.F."}


def _dry_run_commands(out: str) -> list[list[str]]:
    """The inpaint-train command lines a dry run printed, as argv (each after ``<row name>: ``)."""
    return [shlex.split(line.split(": ", 1)[1]) for line in out.splitlines() if ": inpaint-train " in line]


def test_dry_run_prints_one_composable_inpaint_train_command_per_job(tmp_path, capsys):
    rp.reproduce("jpgnet_table2", "demo", rows=["EdgeConnect"], dry_run=True, estimate=False, runs_dir=str(tmp_path / "runs"))
    commands = _dry_run_commands(capsys.readouterr().out)
    assert [c[1] for c in commands] == ["experiment=edgeconnect_edge", "experiment=edgeconnect_inpaint",
                                        "experiment=edgeconnect_edge_inpaint",  # stage 3: G2 on G1's edges
                                        "experiment=edgeconnect"]  # stages first, one job each
    last = commands[-1]
    assert last[0] == "inpaint-train" and "scale=demo" in last and "reproduce.row=EdgeConnect" in last
    stage_weights = dict(arg.split("=", 1) for arg in last if arg.startswith("model.stage_weights."))
    assert set(stage_weights) == {"model.stage_weights.dgnet.edge_weights", "model.stage_weights.dgnet.inpaint_weights"}
    assert stage_weights["model.stage_weights.dgnet.edge_weights"].endswith("/00_dgnet_edge/TESTED_CHECKPOINT")
    for argv in commands:  # each composes, as inpaint-train would
        cfg = compose("train", argv[1:])
        assert cfg.reproduce.table == "jpgnet_table2" and cfg.scale.name == "demo"
    assert cfg.model.dgnet.edge_generator.residual_blocks == 1  # the demo narrowing, composed by Hydra
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_free_text_row_names_survive_hydra_and_the_shell(tmp_path):
    row = specs.Row(id="JPGNet-RFRNet-N.F. (v1, 'a')", name="x", experiment="misf")
    scale = plan.Scale("demo")
    job = plan.make_job(row, 0, scale, "t", None, None, {}, [], tmp_path / "runs")
    argv = shlex.split(job.command())
    assert argv[0] == "inpaint-train"
    assert compose("train", argv[1:]).reproduce.row == row.id


@pytest.mark.parametrize("table", [t for t in specs.table_names() if rp.load_spec(t).kind == "metrics"])
def test_demo_jobs_compose_as_inpaint_train_with_the_experiment_and_scale_alone(table, tmp_path):
    """`inpaint-train experiment=X scale=demo` is reproduce's demo job for X: the job adds only its bookkeeping
    (reproduce.*), its stage checkpoints and the row's own overrides, nothing that narrows the network."""
    spec = rp.load_spec(table)
    scale = plan.load_scale("demo")
    for job in run.planned_jobs(spec.rows, scale, table, None, None, [], tmp_path / "runs"):
        ours = compose("train", job.train_overrides)
        plain = compose("train", [f"experiment={job.row.experiment}", "scale=demo", *job.row.overrides,
                                  *plan.stage_overrides(job.row, {d: "x" for d in job.row.needs.values()})])
        for cfg in (ours, plain):
            cfg.reproduce = None
            OmegaConf.update(cfg, "model.stage_weights", None, force_add=True)
            for key in job.row.needs:
                OmegaConf.update(cfg, key if key.startswith("model.") else f"model.stage_weights.{key}", None, force_add=True)
        assert OmegaConf.to_container(ours.model) == OmegaConf.to_container(plain.model), job.row.name
        assert OmegaConf.to_container(ours.data) == OmegaConf.to_container(plain.data), job.row.name
        assert OmegaConf.to_container(ours.trainer) == OmegaConf.to_container(plain.trainer), job.row.name


def test_every_experiment_is_narrowed_at_demo_scale():
    """scale=demo shrinks every network and turns the VGG terms off (no ImageNet file is shipped): what
    inpaint-train composes, not a side channel (before, `experiment=misf scale=demo` built a full-width MISF)."""
    for path in sorted((CONFIG_DIR / "experiment").glob("*.yaml")):
        cfg = compose("train", [f"experiment={path.stem}", "scale=demo"])
        weights = OmegaConf.select(cfg, "model.loss.weights") or {}
        assert not any(weights.get(k) for k in ("perceptual", "style", "correctness")), path.stem
        choice = cfg.hydra.runtime.choices.scale_model
        assert (CONFIG_DIR / "scale_model" / f"{choice}.yaml").is_file(), (
            f"experiment {path.stem}: add conf/scale_model/{choice}.yaml, the network narrowed for scale=demo "
            "(docs/extending.md): a demo table trains every row in seconds")
    misf = compose("train", ["experiment=misf", "scale=demo"])
    assert misf.model.net.generator.width == 0.125 and misf.data.image_size == 32
    assert compose("train", ["experiment=misf"]).model.net.generator.width == 1.0  # no scale: the paper's network


def test_dependent_rows_load_the_checkpoint_their_stage_reported(tmp_path):
    outcome = rp.collect_job(_fake_job(tmp_path / "0", "jpgnet_pfunet", 20.0, status={"status": "ok"}, method="PFUNet"))
    assert collect.checkpoint_of(outcome) == str(tmp_path / "0" / "checkpoints" / "best_step0000002.ckpt")


def test_aggregation_keeps_failed_missing_and_pending_rows_and_shows_the_paper(tmp_path):
    spec = rp.load_spec("misf_table3")
    sweep = tmp_path / "sweep"
    jobs = {"Img-Filter": _fake_job(sweep / "0", "misf_img_filter", 21.5, status={"status": "ok"}),
            "Sem-Filter": _fake_job(sweep / "1", "misf_sem_filter_f3", 0.0, results=False,
                                    status={"status": "failed", "error": "RuntimeError: CUDA out of memory"})}
    # misf never started: no folder
    outcomes = {r.id: rp.collect_job(jobs.get(r.id)) for r in spec.rows if r.experiment}
    outcomes["En-decoder"] = rp.Outcome("pending", error="pending: not built")
    md, csv_path = report.write_report(spec, {None: outcomes}, tmp_path / "out" / "misf_table3_demo", paper_dataset="Places2")

    text = md.read_text()
    assert "| Img-Filter | `misf_img_filter` | ok | Img-Filter |" in text
    assert "RuntimeError: CUDA out of memory" in text
    assert "| MISF | `misf` | **missing** | MISF | no job folder |" in text
    assert "pending: not built" in text
    assert "31.335" in text.replace("31.34", "31.335") and "Places2" in text  # the paper's MISF, Places2 0-20%
    assert "n/a (weights missing: vgg16-397923af.pth)" in text
    with csv_path.open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    assert set(table) == {"Img-Filter", "Sem-Filter", "MISF", "En-decoder-Filter", "En-decoder"}
    assert float(table["Img-Filter"]["psnr/0-20%"]) == 21.5
    assert float(table["Img-Filter"]["psnr/0-20%/paper"]) == 25.489
    assert float(table["Img-Filter"]["psnr/0-20%/diff"]) == pytest.approx(21.5 - 25.489)
    assert table["Sem-Filter"]["status"] == "failed" and table["Sem-Filter"]["psnr/0-20%"] == ""  # numeric columns stay numeric
    assert "CUDA out of memory" in table["Sem-Filter"]["error"]
    [float(row[key]) for row in table.values() for key in row if "/" in key and row[key]]  # every metric cell parses
    assert table["MISF"]["status"] == "missing" and table["En-decoder"]["status"] == "pending"


def test_a_scale_without_paper_column_reports_no_paper_values_or_differences(tmp_path):
    spec = rp.load_spec("misf_table3")
    job = _fake_job(tmp_path / "0", "misf_img_filter", 21.5, status={"status": "ok"})
    outcomes = {r.id: rp.collect_job(job if r.id == "Img-Filter" else None) for r in spec.rows if r.experiment}
    md, csv_path = report.write_report(spec, {None: outcomes}, tmp_path / "t", paper_dataset="Places2", paper_column=False)
    assert "25.489" not in md.read_text() and "Δ" not in md.read_text()  # the paper's Img-Filter, Places2 0-20%
    assert not any("/paper" in key or "/diff" in key for key in csv_path.read_text().splitlines()[0].split(","))
    assert rp.load_scale("demo").paper_column is False and rp.load_scale("small").paper_column is True


def test_input_row_and_dunhuang_default_column(tmp_path):
    spec = rp.load_spec("jpgnet_table3")
    job = _fake_job(tmp_path / "0", "jpgnet_pfunet", 24.0, status={"status": "ok"}, method="PFUNet")
    outcomes = {"pfunet": rp.collect_job(job)}
    md, csv_path = report.write_report(spec, {"Dunhuang": outcomes}, tmp_path / "t")
    with csv_path.open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    assert float(table["Input"]["psnr/overall"]) == 10.0 and table["Input"]["status"] == "ok"
    assert float(table["Input"]["psnr/overall/paper"]) == 15.897  # the paper's Dunhuang "default" column
    assert float(table["Predictive Filtering"]["psnr/overall/paper"]) == 37.021
    assert table["JPGNet-RFRNet-S.F."]["status"] == "missing"  # not run here


def test_classical_rows_of_the_first_job_are_the_tables_context_rows(tmp_path):
    spec = rp.load_spec("misf_table3")
    jobs = {"Img-Filter": _fake_job(tmp_path / "0", "misf_img_filter", 21.0, status={"status": "ok"}, method="Img-Filter"),
            "MISF": _fake_job(tmp_path / "1", "misf", 22.0, status={"status": "ok"}, classical={"Telea": 23.0, "Navier-Stokes": 22.5})}
    outcomes = {row: rp.collect_job(job) for row, job in jobs.items()}
    md, csv_path = report.write_report(spec, {"Places2": outcomes}, tmp_path / "t")
    with csv_path.open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    assert list(table)[-3:] == ["Input", "Telea", "Navier-Stokes"]  # after the paper's rows (Table 3 has no Input row)
    assert float(table["Input"]["psnr/0-20%"]) == 10.0
    assert float(table["Telea"]["psnr/0-20%"]) == 23.0 and float(table["Navier-Stokes"]["psnr/20-40%"]) == 22.5
    assert table["Telea"]["status"] == "ok" and table["Telea"]["psnr/0-20%/paper"] == ""
    assert table["Telea"]["job_dir"] == "1" and float(table["MISF"]["psnr/0-20%"]) == 22.0
    assert "| Telea | context | ok |" in md.read_text()


def test_job_without_results_reports_its_last_log_lines(tmp_path):
    job = _fake_job(tmp_path / "0", "misf", 0.0, results=False)
    (job / "train.log").write_text("starting\nValueError: image size 30 is not a multiple of 4\n")
    outcome = rp.collect_job(job)
    assert outcome.status == "failed" and "not a multiple of 4" in outcome.error


def test_full_scale_stops_before_training_and_says_what_is_missing(tmp_path):
    with pytest.raises(rp.SpecError) as stop:
        rp.reproduce("misf_table4", "full", [f"paths.data_dir={tmp_path / 'nodata'}"], out_dir=str(tmp_path),
                     runs_dir=str(tmp_path / "runs"))
    message = str(stop.value)
    assert "not starting" in message and "celeba" in message and "nodata" in message
    assert "VGG weights" in message and "vgg19-dcbfe0f7.pth" in message  # MISF's perceptual/style terms
    assert not (tmp_path / "runs").exists()


def test_full_scale_check_opens_the_first_images_and_the_rtv_cache(tmp_path):
    """Lists present, images and RTV structures absent: each named once, with the rows it concerns."""
    root = tmp_path / "data"
    (root / "celeba").mkdir(parents=True)
    (root / "celeba" / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n")
    spec = rp.load_spec("misf_table2")
    scale = plan.load_scale("full")
    jobs = run.planned_jobs([r for r in spec.rows if r.id in ("sf_structure", "MISF")], scale, "misf_table2", "CelebA",
                            "celeba", [f"paths.data_dir={root}"], tmp_path / "runs")
    problems = run.check_data(jobs)
    text = "\n".join(problems)
    assert "000001.jpg does not exist" in text or "img_align_celeba" in text, text


def test_full_scale_dry_run_lists_every_dataset_and_its_missing_data(tmp_path, capsys):
    rp.reproduce("misf_table3", "full", [f"paths.data_dir={tmp_path / 'nodata'}"], dry_run=True, estimate=False,
                 runs_dir=str(tmp_path / "runs"))
    out = capsys.readouterr().out
    assert "missing data (dry run)" in out
    for dataset, config in (("Places2", "places2"), ("CelebA", "celeba"), ("Dunhuang", "dunhuang")):
        assert f"dataset {dataset}:" in out and f"data={config}" in out
    assert out.count("experiment=misf_img_filter") == 3
    commands = _dry_run_commands(out)
    assert len(commands) == 3 * 5  # one line per job: 5 rows x 3 datasets
    for argv in commands[::5]:  # each composes as printed (one per dataset here; the demo test composes every row)
        assert compose("train", argv[1:]).hydra.runtime.choices.data in ("places2", "celeba", "dunhuang")


@pytest.mark.slow
def test_demo_misf_ablation_table_end_to_end(tmp_path):
    """`reproduce table=misf_table4 scale=demo`: one real sweep of 3 tiny MISF variants."""
    md = rp.reproduce("misf_table4", "demo", out_dir=str(tmp_path), runs_dir=str(tmp_path / "runs")).report
    assert md == tmp_path / "misf_table4_demo.md"
    with md.with_suffix(".csv").open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    for name in ("Sem-Filter(F1)", "Sem-Filter(F2)", "Sem-Filter(F3)"):
        assert table[name]["status"] == "ok", table[name]["error"]
        assert float(table[name]["psnr/0-20%"]) > 0 and "psnr/0-20%/paper" not in table[name]  # no paper column at demo
    assert "### Claims" in md.read_text()  # F3 >= F2 >= F1, tested on our pairs (too few at demo for a verdict)
    assert table["Telea"]["status"] == "ok" and table["Navier-Stokes"]["status"] == "ok"  # scale=demo's context rows
    for name in ("Sem-Filter(F1)", "Sem-Filter(F2)", "Sem-Filter(F3)"):  # only the tested checkpoint is kept
        job = md.parent / table[name]["job_dir"]
        tested = json.loads((job / "results.json").read_text())["checkpoint"]
        assert [p.relative_to(job).as_posix() for p in job.rglob("*.ckpt")] == [tested]


def test_released_scale_names_missing_files_and_rows_without_weights(tmp_path):
    spec = rp.load_spec("misf_table3")
    todo, preset = run.released_rows(spec.rows, "Places2", tmp_path)
    assert todo == []
    assert preset["MISF"].status == "missing" and str(tmp_path / "places2_InpaintingModel_gen.pth") in preset["MISF"].error
    assert preset["Img-Filter"].status == "n/a"
    (tmp_path / "places2_InpaintingModel_gen.pth").write_bytes(b"")
    todo, _ = run.released_rows(spec.rows, "Places2", tmp_path)
    assert [r.name for r in todo] == ["MISF"]
    assert f"model.stage_weights.weights={tmp_path / 'places2_InpaintingModel_gen.pth'}" in todo[0].overrides


def test_released_weights_are_tested_beside_the_paper(tmp_path):
    """scale=released with a MISF generator saved in the authors' format (deterministic stand-in weights)."""
    import torch

    from inpainting.nets.misf import MISFGenerator
    from tests.nets.official_weights import official_state_dict

    keys = {k: tuple(v.shape) for k, v in MISFGenerator().state_dict().items()}
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.save({"iteration": 7, "generator": official_state_dict(keys)}, weights / "places2_InpaintingModel_gen.pth")
    md = rp.reproduce("misf_table3", "released", ["data=demo", "data.image_size=32", "data.images_per_bin=1",
                                                  "data.eval_batch_size=3", "extras.print_config=false", "metrics.lpips=false",
                                                  "callbacks.progress_bar.refresh_rate=0"],
                      weights=str(weights), datasets=["Places2"], out_dir=str(tmp_path / "out"),
                      runs_dir=str(tmp_path / "runs")).report
    with md.with_suffix(".csv").open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    assert table["MISF"]["status"] == "ok", table["MISF"]["error"]
    assert float(table["MISF"]["psnr/0-20%/paper"]) == 31.335
    assert 0 < float(table["MISF"]["psnr/0-20%"]) < 100
    assert table["Img-Filter"]["status"] == "n/a"


def test_dry_run_estimates_the_time_from_a_measured_throughput(tmp_path, capsys):
    rp.reproduce("misf_table3", "demo", ["data.samples_per_epoch=64", "data.batch_size=2"], rows=["Img-Filter"],
                 dry_run=True, runs_dir=str(tmp_path / "runs"))
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "s/batch x" in line)
    per_batch, batches = re.search(r"([0-9.e-]+) s/batch x (\d+) batches = about", line).groups()
    assert float(per_batch) > 0 and int(batches) == 32  # 1 epoch of 64 samples at batch 2 (scale=demo)
    assert not (tmp_path / "runs").exists()  # nothing ran for real


def test_report_defaults_to_the_job_folder(tmp_path, capsys):
    md = rp.reproduce("jpgnet_table3", "demo", rows=["Predictive Filtering"], dry_run=True, estimate=False,
                      runs_dir=str(tmp_path / "runs")).report
    assert md.parent.parent == (tmp_path / "runs/jpgnet_table3/demo").resolve()  # <runs_dir>/<table>/<scale>/<stamp>/
    assert md.name == "jpgnet_table3_demo.md"


def test_method_names_are_free_text_from_scoring_to_the_report(tmp_path):
    """A dotted method name (JPGNet Table 3's "JPGNet-RFRNet-N.F.") is scored, collected and reported."""
    import torch

    from inpainting.eval.engine import Scorer

    scorer = Scorer([0.0, 0.2, 0.4, 0.6], ["Input", "JPGNet-RFRNet-N.F."], {"lpips": False})
    image, mask = torch.rand(2, 3, 16, 16), torch.zeros(2, 1, 16, 16)
    mask[..., 4:8, 4:8] = 1
    scorer.update({"JPGNet-RFRNet-N.F.": image * 0.9}, image, mask, torch.tensor([0, 0]))
    assert scorer.compute().table["JPGNet-RFRNet-N.F."]["psnr/0-20%"] > 0
    spec = rp.load_spec("jpgnet_table3")
    row = next(r for r in spec.rows if r.name == "JPGNet-RFRNet-N.F.")
    job = _fake_job(tmp_path / "0", row.experiment, 25.0, status={"status": "ok"}, method=row.name, row=row.id)
    outcome = rp.collect_job(job, row.id)
    assert outcome.ok and outcome.values["psnr/0-20%"] == 25.0
    md, csv_path = report.write_report(spec, {"Places2": {row.id: outcome}}, tmp_path / "t")
    with csv_path.open() as handle:
        table = {r["method"]: r for r in csv.DictReader(handle)}
    assert float(table["JPGNet-RFRNet-N.F."]["psnr/0-20%"]) == 25.0
    assert rp.collect_job(job, "another row").status == "failed"  # the job names its row: no guessing


def test_an_all_na_metric_is_one_line_not_a_table(tmp_path):
    spec = rp.load_spec("misf_table4")
    outcomes = {r.id: rp.collect_job(_fake_job(tmp_path / r.id, r.experiment, 20.0, status={"status": "ok"}, method=r.name))
                for r in spec.rows}
    md, _ = report.write_report(spec, {None: outcomes}, tmp_path / "t", paper_dataset="CelebA")
    text = md.read_text()
    assert "LPIPS (VGG): n/a (weights missing: vgg16-397923af.pth) for every row (no table)." in text
    assert text.count("weights missing") == 1 and "### PSNR (dB)" in text


@pytest.mark.slow
def test_a_failing_row_fails_the_command_and_stays_in_the_table(tmp_path):
    """Exit status 1 and the row shown failed, with its error (image size 30: not a multiple of 4)."""
    import subprocess
    import sys

    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "inpainting.cli.reproduce", "table=misf_table4", "scale=demo",
                           "rows=['Sem-Filter(F1)']", "data.image_size=30", f"out_dir={out}", f"runs_dir={tmp_path / 'runs'}"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1, done.stderr[-2000:]
    text = (out / "misf_table4_demo.md").read_text()
    assert "| Sem-Filter(F1) | `misf_sem_filter_f1` | **failed** |" in text
    assert "failed or missing rows: Sem-Filter(F1)" in done.stderr


def test_demo_pruning_keeps_only_the_tested_checkpoint_without_optimizer_states(tmp_path):
    from inpainting.reproduce.run import prune_checkpoints

    weights = {"net.w": torch.arange(4.0)}
    tested, other = tmp_path / "checkpoints" / "best_step0000002.ckpt", tmp_path / "checkpoints" / "last.ckpt"
    tested.parent.mkdir()
    for path in (tested, other):
        torch.save({"state_dict": weights, "optimizer_states": [{"state": {0: torch.zeros(4)}}],
                    "lr_schedulers": [], "global_step": 2}, path)
    prune_checkpoints(tmp_path, tested)
    assert not other.exists() and sorted(p.name for p in tmp_path.rglob("*")) == ["best_step0000002.ckpt", "checkpoints"]
    kept = torch.load(tested, weights_only=True)
    assert "optimizer_states" not in kept and kept["global_step"] == 2 and torch.equal(kept["state_dict"]["net.w"], weights["net.w"])


def test_report_opens_with_the_tables_own_recipe_note_and_the_run(tmp_path, monkeypatch):
    """A table whose recipe replaces the scale's data describes itself; every report says when, how long and on what."""
    job = _fake_job(tmp_path / "0", "jpgnet_classical_telea", 24.0, status={"status": "ok"}, method="JPGNet-Telea")
    monkeypatch.setattr("inpainting.reproduce.table.run_rows",
                        lambda rows, *args: {r.id: rp.collect_job(job if r.id == "JPGNet-Telea" else None) for r in rows})
    text = rp.reproduce("jpgnet_classical", "small", runs_dir=str(tmp_path / "runs")).report.read_text()
    head = text.split("## ")[0]
    assert "NVIDIA irregular test masks" in head and "procedural masks" not in head  # not scale=small's description
    assert re.search(r"Ran \d{4}-\d\d-\d\d \d\d:\d\d UTC \(end\), 0 h 00 min \d\d s wall for the whole table; "
                     r"machine: CPU: .+ \(\d+ logical CPUs\); torch threads: \d+", head)
    small = rp.reproduce("misf_table3", "small", rows=["MISF"], runs_dir=str(tmp_path / "runs2")).report.read_text()
    assert "procedural masks" in small.split("## ")[0]  # a table without notes keeps the scale's description
