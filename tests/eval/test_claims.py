"""The papers' claims as data, and the paired bootstrap statistics that test them (inpainting.eval.claims)."""
import numpy as np
import pytest
import torch
import yaml

from inpainting.eval import claims as C
from inpainting.eval.classical import CLASSICAL_ROW_NAMES, telea
from inpainting.eval.engine import INPUT_ROW, Scorer, score_batch
from inpainting.eval.paper_tables import load_paper_table
from inpainting.eval.report import write_report
from inpainting.utils.resources import EXPERIMENTS_DIR

TABLES = sorted((EXPERIMENTS_DIR / "tables").glob("*.yaml"))
PAPER_TABLES = [p for p in TABLES if yaml.safe_load(p.read_text(encoding="utf-8")).get("paper_table")]
CONTEXT_ROWS = {INPUT_ROW, *CLASSICAL_ROW_NAMES.values()}  # scored beside every run on the same pairs


@pytest.mark.parametrize("path", TABLES, ids=lambda p: p.stem)
def test_every_table_states_its_claims_on_its_own_rows(path):
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    claims = C.load_claims(spec)
    assert claims, f"{path.name} has no claims"
    assert all(c.section and c.text for c in claims)
    rows = {r["name"] for r in spec.get("rows") or []}
    paired = [c for c in claims if c.kind == "paired"]
    C.check_claim_rows(paired, rows | CONTEXT_ROWS)
    if spec.get("paper_table"):
        paper = load_paper_table(spec["paper_table"])
        for claim in paired:
            assert set(claim.rows) <= set(paper.row_names), claim.id  # the paper's difference can be shown


@pytest.mark.parametrize("path", PAPER_TABLES, ids=lambda p: p.stem)  # a table of our own has no paper numbers
def test_the_declared_exceptions_are_exactly_what_the_paper_contradicts(path):
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    paper = load_paper_table(spec["paper_table"])
    for claim in C.load_claims(spec):
        assert set(C.paper_check(claim, paper)) == claim.paper_exceptions, claim.id


def test_misf_table4_records_the_papers_own_f2_below_f1_cells():
    claim, = C.load_claims(EXPERIMENTS_DIR / "tables" / "misf_table4.yaml")
    failed = C.paper_check(claim, load_paper_table("misf_table4"))
    assert failed["Sem-Filter(F2) > Sem-Filter(F1) psnr CelebA/40-60%"] == pytest.approx(21.353 - 21.360)
    assert not any("F3" in key for key in failed)  # F3 beats F2 everywhere; the SSIM 0-20 % tie F2 = F1 is no exception


def test_bad_claims_are_named():
    with pytest.raises(ValueError, match="either `better` \\+ `worse` or `order`"):
        C.load_claims({"claims": [{"id": "x", "text": "t", "section": "s", "metrics": ["psnr"]}]})
    with pytest.raises(ValueError, match="metrics"):
        C.load_claims({"claims": [{"id": "x", "text": "t", "section": "s", "better": "A", "worse": ["B"], "metrics": ["psnrr"]}]})
    claim, = C.load_claims({"claims": [{"id": "x", "text": "t", "section": "s", "better": "A", "worse": "B", "metrics": ["psnr"]}]})
    with pytest.raises(ValueError, match="rows \\['B'\\]"):
        C.check_claim_rows([claim], ["A"])


# -- statistics on synthetic per-image scores whose answer is known -----------------------------------
def synthetic(better_shift, n=40, noise=1.0, seed=0, metric="psnr", bins=("0-20%",)):
    """Scores of rows A and B on the same n images per bin; A = B + better_shift + paired noise."""
    rng = np.random.default_rng(seed)
    scores = {"A": {}, "B": {}}
    for b in bins:
        base = rng.normal(25, 3, n)
        gain = better_shift + rng.normal(0, noise, n)
        for i in range(n):
            scores["B"][(b, f"img{i}", 0)] = {metric: float(base[i])}
            scores["A"][(b, f"img{i}", 0)] = {metric: float(base[i] + gain[i])}
    return scores


def claim_on(metric):
    return C.load_claims({"claims": [{"id": "a_beats_b", "text": "A beats B", "section": "test",
                                      "better": "A", "worse": ["B"], "metrics": [metric]}]})


def test_a_clear_win_holds_a_clear_loss_is_reversed_and_noise_is_not_resolved():
    claims = claim_on("psnr")
    win, = C.evaluate(claims, synthetic(+1.0))
    loss, = C.evaluate(claims, synthetic(-1.0))
    noise, = C.evaluate(claims, synthetic(0.0, seed=3))
    assert (win.verdict, loss.verdict, noise.verdict) == (C.HOLDS, C.REVERSED, C.UNRESOLVED)
    assert win.low > 0 and win.difference == pytest.approx(1.0, abs=0.4) and loss.high < 0
    assert noise.low < 0 < noise.high and win.n == 40
    overall = C.load_claims({"claims": [{"id": "o", "text": "t", "section": "s", "better": "A", "worse": ["B"],
                                         "metrics": ["psnr"], "bins": ["overall"]}]})
    assert [c.n for c in C.evaluate(overall, synthetic(1.0, bins=("0-20%", "20-40%")))] == [80]  # every bin pooled


def test_too_few_pairs_and_uncomputed_metrics_get_no_verdict():
    few, = C.evaluate(claim_on("psnr"), synthetic(+5.0, n=C.MIN_PAIRS - 1, noise=0.1))  # a clear win, too few images
    assert few.verdict == C.UNRESOLVED and few.low is None and f"a verdict needs {C.MIN_PAIRS}" in few.note
    enough, = C.evaluate(claim_on("psnr"), synthetic(+5.0, n=C.MIN_PAIRS, noise=0.1))
    assert enough.verdict == C.HOLDS
    both = C.load_claims({"claims": [{"id": "a_beats_b", "text": "A beats B", "section": "test", "better": "A",
                                      "worse": ["B"], "metrics": ["psnr", "lpips"]}]})
    found = C.evaluate(both, synthetic(+5.0, noise=0.1))  # no LPIPS column (its weights missing)
    assert [c.verdict for c in found if c.metric == "lpips"] == [C.MISSING]
    assert C.claim_verdict(found) == C.HOLDS  # the metric nobody computed does not undecide the claim
    assert "no scores of lpips" in C.markdown_section(both, found)


def test_lower_is_better_metrics_read_the_interval_the_other_way():
    # A's L1 is lower than B's: the difference is negative and the claim holds
    lower, = C.evaluate(claim_on("l1"), synthetic(-0.01, noise=0.002, metric="l1"))
    assert lower.difference < 0 and lower.verdict == C.HOLDS


def test_only_pairs_present_in_both_rows_count_and_missing_rows_are_said():
    scores = synthetic(1.0, n=10)
    del scores["A"][("0-20%", "img0", 0)]
    comparison, = C.evaluate(claim_on("psnr"), scores)
    assert comparison.n == 9
    missing, = C.evaluate(claim_on("psnr"), {"A": scores["A"]})
    assert missing.verdict == C.MISSING and "B" in missing.note and missing.low is None
    text = C.markdown_section(claim_on("psnr"), [missing])
    assert "0 not resolved, 1 without scores (rows not run)" in text and "Verdict: **no scores** (no per-image scores of B)" in text


def test_the_interval_is_reproducible_and_covers_the_true_mean_about_95_percent_of_the_time():
    d = np.random.default_rng(1).normal(0.3, 1.0, 30)
    assert C.bootstrap_ci(d) == C.bootstrap_ci(d)  # fixed seed
    # 400 synthetic data sets of 8 images (the small scale's per bin) with a known mean; fixed seeds make the
    # count deterministic (it cannot flake). The expanded percentile interval covers ~95 % here (plain: ~86 %)
    rng = np.random.default_rng(2026)
    covered = 0
    for _ in range(400):
        low, high = C.bootstrap_ci(rng.normal(0.3, 1.0, 8), resamples=2000)
        covered += low <= 0.3 <= high
    assert 0.90 * 400 <= covered <= 0.98 * 400


def test_the_bootstrap_is_vectorised_in_chunks_for_large_samples():
    d = np.random.default_rng(0).normal(1.0, 1.0, 5000)  # 10,000 x 5,000 would not fit at once
    low, high = C.bootstrap_ci(d)
    se = d.std(ddof=1) / np.sqrt(d.size)
    assert low == pytest.approx(d.mean() - 1.96 * se, abs=0.2 * se) and high == pytest.approx(d.mean() + 1.96 * se, abs=0.2 * se)


def test_the_markdown_section_has_a_summary_the_paper_column_and_can_drop_it():
    claims = claim_on("psnr")
    comparisons = C.evaluate(claims, synthetic(1.0, bins=("0-20%", "20-40%")))
    comparisons = [c.__class__(**{**c.__dict__, "paper_difference": 0.5}) for c in comparisons]
    with_paper = C.markdown_section(claims, comparisons)
    assert "Claims: 1 held, 0 reversed, 0 not resolved (comparisons per metric and bin: 2 held" in with_paper
    assert "| A vs B | psnr | 0-20% | 40 |" in with_paper and with_paper.splitlines()[-1].endswith("+0.500 |")
    demo = C.markdown_section(claims, comparisons, show_paper=False)
    assert "| paper |" not in demo and "not shown" in demo


# -- from a run's files --------------------------------------------------------------------------------
def test_a_runs_per_image_file_pairs_the_method_with_its_context_rows(tmp_path):
    """The engine writes the other rows' per-image scores beside the method's; an oracle beats Telea and Input."""
    g = torch.Generator().manual_seed(0)
    image = torch.rand(8, 3, 32, 32, generator=g)
    mask = torch.zeros(8, 1, 32, 32)
    mask[:, :, 8:20, 8:24] = 1
    batch = {"image": image, "mask": mask, "bin": torch.zeros(8, dtype=torch.long), "name": [f"p{i}" for i in range(8)]}
    scorer = Scorer([0.0, 0.6], [INPUT_ROW, "oracle", "Telea"])
    score_batch(scorer, "oracle", image.clone(), batch)
    scorer.update({"Telea": telea(image, mask)}, image, mask, batch["bin"], batch["name"])
    results = scorer.compute()
    paths = write_report(results, tmp_path / "run", "oracle", method="oracle")
    table = paths["markdown"].read_text()  # the test report compares the method with every other row itself
    assert "## Paired differences" in table and "| oracle vs Telea | psnr | 0-60% | 8 |" in table
    assert C.per_image_scores(results.per_image, "oracle") == C.read_per_image(paths["per_image"], "oracle")
    scores = C.scores_from_jobs({"Oracle": tmp_path / "run", "Missing": tmp_path / "nowhere"})
    assert set(scores) == {"Oracle", INPUT_ROW, "Telea"} and len(scores["Telea"]) == 8
    claims = C.load_claims({"claims": [{"id": "o", "text": "t", "section": "s", "better": "Oracle",
                                        "worse": ["Telea", INPUT_ROW], "metrics": ["psnr", "l1"]}]})
    result = C.evaluate(claims, scores)
    assert [(c.worse, c.metric, c.verdict) for c in result] == [
        ("Telea", "psnr", C.HOLDS), ("Telea", "l1", C.HOLDS), (INPUT_ROW, "psnr", C.HOLDS), (INPUT_ROW, "l1", C.HOLDS)]
    own = C.read_per_image(tmp_path / "run" / C.PER_IMAGE_CSV, "oracle")  # one run alone, as inpaint-eval reads it
    adhoc = C.evaluate(C.pairwise_claims("oracle", ["Telea"], ["psnr"]), own)
    assert [(c.claim, c.verdict, c.n) for c in adhoc] == [("oracle vs Telea", C.HOLDS, 8)]
    path = C.write_comparisons_csv(result, tmp_path / "claims.csv")
    assert path.read_text().splitlines()[0].startswith("claim,better,worse,metric,bin,n,difference,low,high,verdict")
