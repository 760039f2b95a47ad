"""Table specs, sweep planning, aggregation of job folders (fabricated and real), full-scale data check."""
from __future__ import annotations

import csv
import json
import pathlib

import pytest
import yaml

from inpainting.cli import reproduce as rp

BINS = ["0-20%", "20-40%", "40-60%"]


def _fake_job(folder: pathlib.Path, experiment: str, psnr: float, status: dict | None = None, results: bool = True) -> pathlib.Path:
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump([f"experiment={experiment}", "data=demo"]))
    if status is not None:
        (folder / "status.json").write_text(json.dumps(status))
    if results:
        (folder / "tables").mkdir()
        header = ["method"] + [f"{m}/{b}" for m in ("psnr", "ssim") for b in BINS + ["overall"]]
        rows = [["Input"] + [10.0] * 4 + [0.5] * 4, ["MISF"] + [psnr] * 4 + [0.7] * 4]
        with (folder / "tables" / "test_metrics.csv").open("w", newline="") as handle:
            csv.writer(handle).writerows([header, *rows])
        (folder / "metrics.json").write_text(json.dumps({"metrics": {}}))
    return folder


def test_every_spec_loads_and_every_runnable_row_names_an_existing_experiment():
    experiments = {p.stem for p in (rp.CONFIG_DIR / "experiment").glob("*.yaml")}
    for path in rp.TABLES_DIR.glob("*.yaml"):
        if path.stem == "scales":
            continue
        spec = rp.load_spec(path.stem)
        assert spec.kind in ("metrics", "timing"), path
        for row in spec.rows:
            assert row.pending or row.experiment in experiments, f"{path.name}: {row.name} -> {row.experiment}"
        if spec.kind == "metrics":
            rp.phases(spec.rows)  # dependency order exists


def test_unknown_table_names_the_known_ones():
    with pytest.raises(SystemExit, match="misf_table3"):
        rp.load_spec("no_such_table")


def test_overrides_merge_by_key_and_cli_wins():
    merged = rp.merge_overrides(["data=places2", "trainer=gpu"], ["data=celeba", "+model.x=1"])
    assert merged == ["trainer=gpu", "data=celeba", "+model.x=1"]


def test_jpgnet_rows_run_after_their_stages_and_selection_pulls_in_dependencies():
    spec = rp.load_spec("jpgnet_table3")
    order = [[r.experiment for r in phase] for phase in rp.phases(spec.rows)]
    assert set(order[0]) == {"jpgnet_pfunet", "jpgnet_dgnet_edge", "jpgnet_dgnet_inpaint"}
    assert "jpgnet_uafnet" in order[1]
    picked = {r.id for r in rp.select_rows(spec.rows, ["JPGNet (EdgeConnect)"])}
    assert picked == {"pfunet", "dgnet_edge", "dgnet_inpaint", "JPGNet (EdgeConnect)"}


@pytest.mark.parametrize("table", ["jpgnet_table2", "jpgnet_table3", "misf_table2"])
def test_edgeconnect_row_runs_after_its_two_dgnet_stages(table):
    spec = rp.load_spec(table)
    row = next(r for r in spec.rows if r.name == "EdgeConnect")
    assert row.pending is None and row.experiment == "jpgnet_edgeconnect" and row.paper_row == "EdgeConnect"
    assert row.needs == {"dgnet.edge_weights": "dgnet_edge", "dgnet.inpaint_weights": "dgnet_inpaint"}
    picked = {r.id: r.experiment for r in rp.select_rows(spec.rows, ["EdgeConnect"])}
    assert picked == {"dgnet_edge": "jpgnet_dgnet_edge", "dgnet_inpaint": "jpgnet_dgnet_inpaint", "EdgeConnect": "jpgnet_edgeconnect"}
    order = [[r.id for r in phase] for phase in rp.phases(spec.rows)]
    assert "EdgeConnect" in order[1] and {"dgnet_edge", "dgnet_inpaint"} <= set(order[0])


def test_edgeconnect_dry_run_wires_the_stage_checkpoints(tmp_path, capsys):
    rp.reproduce({"table": "jpgnet_table3", "scale": "demo", "rows": "EdgeConnect", "dry_run": "true",
                  "runs_dir": str(tmp_path / "runs")}, [])
    commands = [line.split() for line in capsys.readouterr().out.splitlines() if "inpainting.cli.train" in line]
    assert len(commands) == 3  # G1 and G2 sweeps (different model configs), then EdgeConnect
    sweep = {c[-1].split("=", 1)[1][-2:]: c for c in commands}  # hydra.sweep.dir=.../<index>
    assert "experiment=jpgnet_dgnet_edge" in sweep["00"] and "experiment=jpgnet_dgnet_inpaint" in sweep["01"]
    last = sweep["02"]
    assert "experiment=jpgnet_edgeconnect" in last and "model=edgeconnect" in last
    assert "model.dgnet.edge_generator.residual_blocks=1" in last  # demo scale matches the tiny stage runs
    stage_weights = dict(arg.split("=", 1) for arg in last if arg.startswith("model.stage_weights."))
    assert set(stage_weights) == {"model.stage_weights.dgnet.edge_weights", "model.stage_weights.dgnet.inpaint_weights"}
    # run folders: their best checkpoints, the ones the stage rows report
    assert stage_weights["model.stage_weights.dgnet.edge_weights"].endswith("/00/JOB")
    assert stage_weights["model.stage_weights.dgnet.inpaint_weights"].endswith("/01/JOB")


def test_aggregation_keeps_failed_missing_and_pending_rows_with_their_errors(tmp_path):
    spec = rp.load_spec("misf_table4")
    pending = rp.Row(id="PConv", name="PConv", pending="no PConv network yet")
    spec = rp.TableSpec(spec.name, spec.title, spec.kind, spec.paper_table, spec.rows + (pending,), spec.raw)
    sweep = tmp_path / "sweep"
    _fake_job(sweep / "0", "misf_en_decoder", 21.5)
    _fake_job(sweep / "1", "misf_en_decoder_filter", 0.0, status={"ok": False, "error": "RuntimeError: CUDA out of memory"}, results=False)
    # job 2 (misf) never started: no folder
    jobs = rp._job_experiments(sweep)
    outcomes = {r.id: rp.collect_job(jobs.get(r.experiment)) for r in spec.rows if r.experiment}
    outcomes["PConv"] = rp.Outcome("pending", error="pending: no PConv network yet")
    md, csv_path = rp.aggregate(spec, outcomes, tmp_path / "out" / "misf_table4_demo")

    text = md.read_text()
    assert "| En-Decoder | `misf_en_decoder` | ok |" in text
    assert "RuntimeError: CUDA out of memory" in text
    assert "| MISF | `misf` | missing | MISF | n/a (not available offline) | no job folder |" in text
    assert "pending: no PConv network yet" in text
    assert "21.50" in text and "Input (holes empty)" in text
    with csv_path.open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    assert set(table) == {"Input (holes empty)", "En-Decoder", "En-Decoder + Filter", "MISF", "PConv"}
    assert float(table["En-Decoder"]["psnr/0-20%"]) == 21.5
    assert table["En-Decoder + Filter"]["status"] == "failed"
    assert table["En-Decoder + Filter"]["psnr/0-20%"] == "missing"
    assert "CUDA out of memory" in table["En-Decoder + Filter"]["error"]
    assert table["MISF"]["status"] == "missing" and table["PConv"]["status"] == "pending"


def test_job_without_results_reports_its_last_log_lines(tmp_path):
    job = _fake_job(tmp_path / "0", "misf", 0.0, results=False)
    (job / "train.log").write_text("starting\nValueError: image size 30 is not a multiple of 4\n")
    outcome = rp.collect_job(job)
    assert outcome.status == "failed" and "not a multiple of 4" in outcome.error


def test_full_scale_stops_before_training_and_says_what_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        rp.reproduce({"table": "misf_table4", "scale": "full", "out_dir": str(tmp_path), "runs_dir": str(tmp_path / "runs")},
                     [f"paths.data_dir={tmp_path / 'nodata'}"])
    message = str(stop.value)
    assert "not starting" in message and "places2" in message and "nodata" in message
    assert not (tmp_path / "runs").exists()


def test_demo_misf_ablation_table_end_to_end(tmp_path):
    """`reproduce table=misf_table4 scale=demo`: one real sweep of 3 tiny MISF variants (~30 s on 2 cores)."""
    md = rp.reproduce({"table": "misf_table4", "scale": "demo", "out_dir": str(tmp_path), "runs_dir": str(tmp_path / "runs")}, [])
    assert md == tmp_path / "misf_table4_demo.md"
    with md.with_suffix(".csv").open() as handle:
        table = {row["method"]: row for row in csv.DictReader(handle)}
    for name in ("En-Decoder", "En-Decoder + Filter", "MISF"):
        assert table[name]["status"] == "ok", table[name]["error"]
        assert 0 < float(table[name]["psnr/overall"]) < 100
    assert "VGG19 perceptual and style losses are off" in md.read_text()
