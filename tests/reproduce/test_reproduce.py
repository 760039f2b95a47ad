"""Table specs, sweep planning, aggregation of job folders (fabricated and real), full-scale data check."""
from __future__ import annotations

import csv
import json
import pathlib
import re

import pytest
import yaml

from inpainting.cli import reproduce as rp

BINS = ["0-20%", "20-40%", "40-60%"]


def _fake_job(folder: pathlib.Path, experiment: str, psnr: float, status: dict | None = None, results: bool = True,
              method: str = "MISF", classical: dict | None = None) -> pathlib.Path:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"experiment={experiment}", "data=demo"]))
    if status is not None:
        (folder / "status.json").write_text(json.dumps(status))
    if results:
        bins = BINS + ["overall"]
        def row(p, s):
            return {"psnr": dict.fromkeys(bins, p), "ssim": dict.fromkeys(bins, s), "lpips": dict.fromkeys(bins)}

        (folder / "results.json").write_text(json.dumps({
            "schema": 1, "run_name": experiment, "checkpoint": "checkpoints/best_step0000002.ckpt", "bins": bins,
            "counts": dict.fromkeys(bins, 2), "methods": {"Input": row(10.0, 0.5), method: row(psnr, 0.7),
                                                            **{name: row(p, 0.6) for name, p in (classical or {}).items()}},
            "notes": {"lpips": "weights missing: vgg16-397923af.pth"}}))
    return folder


def test_every_spec_loads_and_every_runnable_row_names_an_existing_experiment():
    experiments = {p.stem for p in (rp.CONFIG_DIR / "experiment").glob("*.yaml")}
    for path in rp.TABLES_DIR.glob("*.yaml"):
        spec = rp.load_spec(path.stem)
        assert spec.kind in ("metrics", "timing"), path
        for row in spec.rows:
            assert row.pending or row.input_of or row.experiment in experiments, f"{path.name}: {row.name} -> {row.experiment}"
        if spec.kind == "metrics":
            rp.phases(spec.rows)  # dependency order exists


def test_unknown_table_names_the_known_ones():
    with pytest.raises(SystemExit, match="misf_table3"):
        rp.load_spec("no_such_table")


def test_overrides_merge_by_key_and_cli_wins():
    merged = rp.merge_overrides(["data=places2", "trainer=gpu"], ["data=celeba", "+model.x=1"])
    assert merged == ["trainer=gpu", "data=celeba", "+model.x=1"]


def test_rows_are_the_papers_rows_in_its_order():
    from inpainting.eval.paper_tables import load_paper_table

    for path in rp.TABLES_DIR.glob("*.yaml"):
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
    assert set(order[0]) >= {"jpgnet_pfunet", "jpgnet_dgnet_edge", "jpgnet_dgnet_inpaint"}
    assert "jpgnet_uafnet" in order[1]
    picked = {r.id for r in rp.select_rows(spec.rows, ["JPGNet-EdgeConnect-S.F."])}
    assert picked == {"pfunet", "dgnet_edge", "dgnet_inpaint", "JPGNet-EdgeConnect-S.F."}


def test_dry_run_wires_the_tested_checkpoint_of_each_stage(tmp_path, capsys):
    rp.reproduce({"table": "jpgnet_table2", "scale": "demo", "rows": "EdgeConnect", "dry_run": "true",
                  "runs_dir": str(tmp_path / "runs")}, [])
    commands = [line.split() for line in capsys.readouterr().out.splitlines() if "inpainting.cli.train" in line]
    assert len(commands) == 3  # G1 and G2 sweeps (different model configs), then EdgeConnect
    sweep = {c[-1].split("=", 1)[1][-2:]: c for c in commands}  # hydra.sweep.dir=.../<index>
    assert "experiment=jpgnet_dgnet_edge" in sweep["00"] and "experiment=jpgnet_dgnet_inpaint" in sweep["01"]
    last = sweep["02"]
    assert "experiment=jpgnet_edgeconnect" in last and "scale=demo" in last
    assert "model.dgnet.edge_generator.residual_blocks=1" in last  # demo scale matches the tiny stage runs
    stage_weights = dict(arg.split("=", 1) for arg in last if arg.startswith("model.stage_weights."))
    assert set(stage_weights) == {"model.stage_weights.dgnet.edge_weights", "model.stage_weights.dgnet.inpaint_weights"}
    assert "/00/JOB/TESTED_CHECKPOINT" in stage_weights["model.stage_weights.dgnet.edge_weights"]


def test_dependent_rows_load_the_checkpoint_their_stage_reported(tmp_path):
    outcome = rp.collect_job(_fake_job(tmp_path / "0", "jpgnet_pfunet", 20.0, status={"status": "ok"}, method="PFUNet"))
    assert rp.checkpoint_of(outcome) == str(tmp_path / "0" / "checkpoints" / "best_step0000002.ckpt")


def test_aggregation_keeps_failed_missing_and_pending_rows_and_shows_the_paper(tmp_path):
    spec = rp.load_spec("misf_table3")
    sweep = tmp_path / "sweep"
    _fake_job(sweep / "0", "misf_img_filter", 21.5, status={"status": "ok"})
    _fake_job(sweep / "1", "misf_sem_filter_f3", 0.0, status={"status": "failed", "error": "RuntimeError: CUDA out of memory"}, results=False)
    # misf never started: no folder
    jobs = rp._job_experiments(sweep)
    outcomes = {r.id: rp.collect_job(jobs.get(r.experiment)) for r in spec.rows if r.experiment}
    outcomes["En-decoder"] = rp.Outcome("pending", error="pending: not built")
    md, csv_path = rp.aggregate(spec, {None: outcomes}, tmp_path / "out" / "misf_table3_demo", paper_dataset="Places2")

    text = md.read_text()
    assert "| Img-Filter | `misf_img_filter` | ok | Img-Filter |" in text
    assert "RuntimeError: CUDA out of memory" in text
    assert "| MISF | `misf` | missing | MISF | no job folder |" in text
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


def test_input_row_and_dunhuang_default_column(tmp_path):
    spec = rp.load_spec("jpgnet_table3")
    job = _fake_job(tmp_path / "0", "jpgnet_pfunet", 24.0, status={"status": "ok"}, method="PFUNet")
    outcomes = {"pfunet": rp.collect_job(job)}
    md, csv_path = rp.aggregate(spec, {"Dunhuang": outcomes}, tmp_path / "t")
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
    md, csv_path = rp.aggregate(spec, {"Places2": outcomes}, tmp_path / "t")
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
    with pytest.raises(SystemExit) as stop:
        rp.reproduce({"table": "misf_table4", "scale": "full", "out_dir": str(tmp_path), "runs_dir": str(tmp_path / "runs")},
                     [f"paths.data_dir={tmp_path / 'nodata'}"])
    message = str(stop.value)
    assert "not starting" in message and "celeba" in message and "nodata" in message
    assert not (tmp_path / "runs").exists()


def test_full_scale_dry_run_lists_every_dataset_and_its_missing_data(tmp_path, capsys):
    rp.reproduce({"table": "misf_table3", "scale": "full", "dry_run": "true", "runs_dir": str(tmp_path / "runs")},
                 [f"paths.data_dir={tmp_path / 'nodata'}"])
    out = capsys.readouterr().out
    assert "missing data (dry run)" in out
    for dataset, config in (("Places2", "places2"), ("CelebA", "celeba"), ("Dunhuang", "dunhuang")):
        assert f"dataset {dataset}:" in out and f"data={config}" in out
    assert out.count("experiment=misf_img_filter") == 3


@pytest.mark.slow
def test_demo_misf_ablation_table_end_to_end(tmp_path):
    """`reproduce table=misf_table4 scale=demo`: one real sweep of 3 tiny MISF variants."""
    md = rp.reproduce({"table": "misf_table4", "scale": "demo", "out_dir": str(tmp_path), "runs_dir": str(tmp_path / "runs")}, [])
    assert md == tmp_path / "misf_table4_demo.md"
    with md.with_suffix(".csv").open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    for name in ("Sem-Filter(F1)", "Sem-Filter(F2)", "Sem-Filter(F3)"):
        assert table[name]["status"] == "ok", table[name]["error"]
        assert float(table[name]["psnr/0-20%/paper"]) > 30
    assert table["Telea"]["status"] == "ok" and table["Navier-Stokes"]["status"] == "ok"  # scale=demo's context rows


def test_released_scale_names_missing_files_and_rows_without_weights(tmp_path):
    spec = rp.load_spec("misf_table3")
    todo, preset = rp.released_rows(spec.rows, "Places2", tmp_path)
    assert todo == []
    assert preset["MISF"].status == "missing" and str(tmp_path / "places2_InpaintingModel_gen.pth") in preset["MISF"].error
    assert preset["Img-Filter"].status == "n/a"
    (tmp_path / "places2_InpaintingModel_gen.pth").write_bytes(b"")
    todo, _ = rp.released_rows(spec.rows, "Places2", tmp_path)
    assert [r.name for r in todo] == ["MISF"]
    assert f"model.net.weights={tmp_path / 'places2_InpaintingModel_gen.pth'}" in todo[0].overrides


def test_released_weights_are_tested_beside_the_paper(tmp_path):
    """scale=released with a MISF generator saved in the authors' format (deterministic stand-in weights)."""
    import torch

    from inpainting.nets.misf import MISFGenerator
    from tests.nets.official_weights import official_state_dict

    keys = {k: tuple(v.shape) for k, v in MISFGenerator().state_dict().items()}
    weights = tmp_path / "weights"
    weights.mkdir()
    torch.save({"iteration": 7, "generator": official_state_dict(keys)}, weights / "places2_InpaintingModel_gen.pth")
    md = rp.reproduce({"table": "misf_table3", "scale": "released", "weights": str(weights), "datasets": "Places2",
                       "out_dir": str(tmp_path / "out"), "runs_dir": str(tmp_path / "runs")},
                      ["data=demo", "data.image_size=32", "data.images_per_bin=1", "data.eval_batch_size=3",
                       "extras.print_config=false", "metrics.lpips=false", "callbacks.progress_bar.refresh_rate=0"])
    with md.with_suffix(".csv").open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    assert table["MISF"]["status"] == "ok", table["MISF"]["error"]
    assert float(table["MISF"]["psnr/0-20%/paper"]) == 31.335
    assert 0 < float(table["MISF"]["psnr/0-20%"]) < 100
    assert table["Img-Filter"]["status"] == "n/a"


def test_dry_run_estimates_the_time_from_a_measured_throughput(tmp_path, capsys):
    rp.reproduce({"table": "misf_table3", "scale": "demo", "rows": "Img-Filter", "dry_run": "true",
                  "runs_dir": str(tmp_path / "runs")}, ["data.samples_per_epoch=64", "data.batch_size=2"])
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith("Img-Filter:"))
    per_batch, batches = re.search(r"([0-9.e-]+) s/batch x (\d+) batches = about", line).groups()
    assert float(per_batch) > 0 and int(batches) == 32  # 1 epoch of 64 samples at batch 2 (scale=demo)
    assert not (tmp_path / "runs").exists()  # nothing ran for real


def test_report_defaults_to_the_job_folder(tmp_path, capsys):
    md = rp.reproduce({"table": "jpgnet_table3", "scale": "demo", "rows": "Predictive Filtering", "dry_run": "true",
                       "estimate": "false", "runs_dir": str(tmp_path / "runs")}, [])
    assert md.parent.parent == (tmp_path / "runs/jpgnet_table3/demo").resolve()  # <runs_dir>/<table>/<scale>/<stamp>/
    assert md.name == "jpgnet_table3_demo.md"
