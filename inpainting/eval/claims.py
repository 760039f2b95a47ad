"""The papers' claims, tested with paired statistics on our per-image scores.

Claims are data: every table spec (``experiments/tables/<table>.yaml``) ends with a ``claims:`` list.
One claim is::

    - id: misf_beats_ablations              # unique in the table
      text: MISF beats every ablated variant on every metric and bin
      section: "MISF Sec. 5.3, Table 3"      # where the paper says it
      better: MISF                           # a row name of the table (or a context row: Input, Telea, ...)
      worse: [Img-Filter, Sem-Filter]        # each of these is beaten by ``better``
      metrics: [psnr, ssim, l1, lpips]
      bins: all                              # every bin; or a list, e.g. ["40-60%", "overall"]
      paper_exceptions: []                   # comparisons the paper's own numbers contradict, as
                                             # "<better> > <worse> <metric> <dataset>/<bin>"

or, instead of ``better``/``worse``, ``order: [F3, F2, F1]`` (best first): each row beats the next one
(the paper's ">=": a tie in the paper's printed numbers does not count as an exception). A timing
claim (``kind: timing``, JPGNet Table 4) says that the ``parts`` together take less time than ``than``;
it is checked against the paper only (timing has no per-image pairs).

Statistics, per comparison (pair of rows x metric x bin): the per-image differences
``d_i = better_i - worse_i`` on the same test pairs (same image and mask in both rows), their mean,
and a 95 % bootstrap confidence interval of that mean: ``RESAMPLES`` (10,000) resamples of the images
with replacement, ``numpy.random.default_rng(SEED)`` with ``SEED = 0`` for every comparison (so a
comparison's interval does not depend on which others are computed), read at the expanded percentile
quantiles (Hesterberg 2015; :func:`expanded_alpha`), which keep the coverage near 95 % with few images.
The verdict reads the interval in the metric's direction (PSNR/SSIM higher is better; L1/LPIPS/FID lower):

* ``holds``: the whole interval lies on the claimed side of 0;
* ``reversed``: the whole interval lies on the other side;
* ``not resolved``: the interval contains 0 (or fewer than ``MIN_PAIRS`` = 5 pairs), i.e. not decided at this sample size;
* ``no scores``: a row has no per-image scores (it did not run) or the metric none (LPIPS without weights); counted apart.

The paper's own difference (better - worse, from ``experiments/paper_tables``) is shown beside ours,
unless the scale makes it meaningless (``show_paper=False``, e.g. the demo scale).

Per-image scores come from a run's ``tables/test_per_image.csv``: columns ``name, bin, hole_ratio`` and
the method's metrics (``psnr, ssim, l1, ...``), then the context rows scored on the same pairs as
``<row>/<metric>`` (``Input/psnr``, ``Telea/psnr``, ...).

Public API, for the reports of ``inpaint-reproduce`` and ``inpaint-eval``::

    from inpainting.eval.claims import load_claims, scores_from_jobs, evaluate, markdown_section

    claims = load_claims(spec.raw)                        # the table spec's ``claims:`` (validated)
    # rows that ran an experiment; Input and the classical rows come from the runs' own files
    scores = scores_from_jobs({row.name: row_out[row.id].job_dir for row in shown if row.experiment and row_out[row.id].ok})
    comparisons = evaluate(claims, scores, paper=load_paper_table(spec.paper_table), paper_dataset="Places2")
    text = markdown_section(claims, comparisons, show_paper=scale_name != "demo")
    write_comparisons_csv(comparisons, out_stem.with_name(out_stem.name + "_claims.csv"))

    # one run compared with its context rows (inpaint-eval): its own per-image file
    scores = read_per_image(run_dir / PER_IMAGE_CSV, method_name)
    comparisons = evaluate(pairwise_claims(method_name, ["Telea", "Input"], ["psnr", "ssim", "l1"]), scores)
"""
from __future__ import annotations

import csv
import dataclasses
import math
import pathlib
from typing import Iterable, Mapping, Sequence

import numpy as np

from inpainting.eval.tables import METRIC_FORMATS, OVERALL
from inpainting.utils.atomic import atomic_path

RESAMPLES = 10_000
SEED = 0
# fewer pairs than this get no verdict: 2 to 4 images give a handful of distinct resampled means, and an
# interval read from them says nothing (the demo scale has 2 images per bin)
MIN_PAIRS = 5
LEVEL = 0.95
HOLDS, REVERSED, UNRESOLVED = "holds", "reversed", "not resolved"
MISSING = "no scores"  # a row did not run (or has no per-image file): nothing to decide
PER_IMAGE_CSV = pathlib.Path("tables") / "test_per_image.csv"
_INFO_COLUMNS = ("name", "bin", "hole_ratio")
_CHUNK_CELLS = 2_000_000  # resampled values held at once (16 MB of float64)

# row name -> {(bin, name, occurrence): {metric: value}}; occurrence tells apart an image+mask pair drawn twice
Scores = dict[str, dict[tuple[str, str, int], dict[str, float]]]


# -- claims as data ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of a paper about a table: ``pairs`` of (better row, worse row) on ``metrics`` and ``bins``."""

    id: str
    text: str
    section: str
    pairs: tuple[tuple[str, str], ...]
    metrics: tuple[str, ...]
    bins: tuple[str, ...] | None = None  # None: every bin of the results
    ties_hold: bool = False  # ``order`` claims are ">=": a printed tie in the paper is no exception
    paper_exceptions: frozenset[str] = frozenset()
    kind: str = "paired"  # paired | timing
    parts: tuple[str, ...] = ()  # timing: these columns together ...
    than: str | None = None  # ... take less time than this one

    @property
    def rows(self) -> list[str]:
        return list(dict.fromkeys(name for pair in self.pairs for name in pair))


def exception_key(better: str, worse: str, metric: str, dataset: str, bin_name: str) -> str:
    """How a comparison the paper's numbers contradict is written in ``paper_exceptions``."""
    return f"{better} > {worse} {metric} {dataset}/{bin_name}"


def _claim(entry: Mapping, where: str) -> Claim:
    for key in ("id", "text", "section"):
        if not entry.get(key):
            raise ValueError(f"{where}: a claim needs `{key}` ({dict(entry)})")
    where = f"{where}: claim {entry['id']!r}"
    common = dict(id=str(entry["id"]), text=str(entry["text"]), section=str(entry["section"]),
                  paper_exceptions=frozenset(str(e) for e in entry.get("paper_exceptions") or ()))
    if entry.get("kind", "paired") == "timing":
        if not entry.get("parts") or not entry.get("than"):
            raise ValueError(f"{where}: a timing claim needs `parts` and `than`")
        return Claim(**common, pairs=(), metrics=(), kind="timing", parts=tuple(entry["parts"]), than=str(entry["than"]))
    if ("order" in entry) == ("better" in entry):
        raise ValueError(f"{where}: give either `better` + `worse` or `order`")
    if "order" in entry:
        order = [str(r) for r in entry["order"]]
        if len(order) < 2:
            raise ValueError(f"{where}: `order` needs at least two rows")
        pairs, ties = tuple(zip(order, order[1:])), True
    else:
        worse = entry.get("worse")
        worse = [worse] if isinstance(worse, str) else list(worse or [])
        if not worse:
            raise ValueError(f"{where}: `worse` lists no row")
        pairs, ties = tuple((str(entry["better"]), str(w)) for w in worse), False
    metrics = tuple(entry.get("metrics") or ())
    unknown = [m for m in metrics if m not in METRIC_FORMATS]
    if not metrics or unknown:
        raise ValueError(f"{where}: metrics {list(metrics)}; choose from {list(METRIC_FORMATS)}")
    bins = entry.get("bins", "all")
    return Claim(**common, pairs=pairs, metrics=metrics, bins=None if bins == "all" else tuple(str(b) for b in bins),
                 ties_hold=ties)


def load_claims(spec: Mapping | str | pathlib.Path) -> list[Claim]:
    """The ``claims:`` of a table spec (its parsed YAML, or the file); ids must be unique."""
    if not isinstance(spec, Mapping):
        import yaml

        path = pathlib.Path(spec)
        spec, where = yaml.safe_load(path.read_text(encoding="utf-8")), str(path)
    else:
        where = f"table {spec.get('title', '?')!r}"
    claims = [_claim(entry, where) for entry in spec.get("claims") or []]
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{where}: duplicate claim ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return claims


def pairwise_claims(better: str, worse: Sequence[str], metrics: Sequence[str], text: str | None = None) -> list[Claim]:
    """Ad-hoc claims for a comparison without a table spec (e.g. ``inpaint-eval`` with comparison rows):
    ``better`` beats each of ``worse`` on ``metrics`` in every bin, one claim per worse row."""
    return [Claim(id=f"{better} vs {w}", text=text or f"{better} beats {w}", section="this evaluation",
                  pairs=((better, w),), metrics=tuple(metrics)) for w in worse]


def check_claim_rows(claims: Iterable[Claim], row_names: Iterable[str]) -> None:
    """Every row a claim names must be a row of the table (a typo would silently drop the claim)."""
    known = set(row_names)
    for claim in claims:
        unknown = [r for r in claim.rows if r not in known]
        if unknown:
            raise ValueError(f"claim {claim.id!r} names rows {unknown} that the table does not have ({sorted(known)})")


def paper_check(claim: Claim, paper) -> dict[str, float]:
    """The comparisons of ``claim`` that the paper's own numbers contradict: ``{exception key: difference}``
    (difference = better - worse as printed; cells the paper leaves empty are skipped)."""
    failed = {}
    if claim.kind == "timing":
        for row in paper.row_names:
            for dataset, bins in paper.columns.items():
                for bin_name in bins:
                    parts = sum(paper.cell(row, p, dataset, bin_name) for p in claim.parts)
                    whole = paper.cell(row, claim.than, dataset, bin_name)
                    if not parts < whole:
                        failed[f"{row} {'+'.join(claim.parts)} < {claim.than} {dataset}/{bin_name}"] = parts - whole
        return failed
    for better, worse in claim.pairs:
        for metric in claim.metrics:
            for dataset, bins in paper.columns.items():
                for bin_name in bins:
                    if claim.bins is not None and bin_name not in claim.bins:
                        continue
                    a, b = paper.cell(better, metric, dataset, bin_name), paper.cell(worse, metric, dataset, bin_name)
                    if a is None or b is None:
                        continue
                    gain = (a - b) * _sign(metric)
                    if gain < 0 or (gain == 0 and not claim.ties_hold):
                        failed[exception_key(better, worse, metric, dataset, bin_name)] = a - b
    return failed


# -- per-image scores --------------------------------------------------------------------------------
def read_per_image(path: str | pathlib.Path, method: str) -> Scores:
    """A ``test_per_image.csv`` as :data:`Scores` (see :func:`per_image_scores`)."""
    path = pathlib.Path(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("name", "bin") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: not a per-image score file (no column {missing})")
        return per_image_scores(reader, method, str(path))


def per_image_scores(rows: Iterable[Mapping[str, object]], method: str, where: str = "per-image scores") -> Scores:
    """Per-image rows (``EvalResults.per_image``, or the lines of its CSV) as :data:`Scores`: the plain metric
    columns under ``method``, the ``<row>/<metric>`` columns under ``<row>``. Empty cells (a metric not
    computed) are left out."""
    scores: Scores = {}
    seen: dict[tuple[str, str], int] = {}
    for line in rows:
        pair = (str(line["bin"]), str(line["name"]))
        key = (*pair, seen.get(pair, 0))
        seen[pair] = key[2] + 1
        for column, value in line.items():
            if column in _INFO_COLUMNS or value in ("", None):
                continue
            row, metric = column.rsplit("/", 1) if "/" in column else (method, column)
            try:
                scores.setdefault(row, {}).setdefault(key, {})[metric] = float(value)
            except ValueError:
                raise ValueError(f"{where}: {column} of {line['name']} is not a number: {value!r}") from None
    return scores


def scores_from_jobs(jobs: Mapping[str, str | pathlib.Path | None]) -> Scores:
    """Per-image scores of a table's rows: ``jobs`` maps a row name to the run folder that tested it.

    Each folder's method columns become that row; its context rows (``Input``, classical methods) are
    taken from the first folder that has them, unless a row of that name is given. A missing folder
    or file leaves the row out (its comparisons then say so)."""
    scores: Scores = {}
    context: Scores = {}
    for row, job in jobs.items():
        path = pathlib.Path(job) / PER_IMAGE_CSV if job else None
        if path is None or not path.is_file():
            continue
        found = read_per_image(path, row)
        scores[row] = found.pop(row, {})
        for name, values in found.items():
            context.setdefault(name, values)
    return {**context, **scores}


# -- statistics --------------------------------------------------------------------------------------
def _sign(metric: str) -> int:
    fmt = METRIC_FORMATS.get(metric)
    return 1 if fmt is None or fmt.higher_is_better else -1


def expanded_alpha(n: int, level: float = LEVEL) -> float:
    """The tail probability of the expanded percentile interval (Hesterberg 2015): the plain percentile
    bootstrap of a mean is too narrow for few images (about 86 % coverage at n = 8 for a nominal 95 %);
    widening its quantiles so that a normal sample gets the t interval's width fixes most of that."""
    from scipy import stats

    t = stats.t.ppf(1 - (1 - level) / 2, df=n - 1)
    return float(2 * stats.norm.cdf(-math.sqrt(n / (n - 1)) * t))


def bootstrap_ci(differences: Sequence[float] | np.ndarray, resamples: int = RESAMPLES, seed: int = SEED,
                 level: float = LEVEL) -> tuple[float, float]:
    """Expanded percentile bootstrap interval of the mean of ``differences`` (resampled with replacement)."""
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 1 or d.size < 2:
        raise ValueError(f"a bootstrap interval needs at least 2 paired differences, got shape {d.shape}")
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // d.size)
    means = np.concatenate([d[rng.integers(0, d.size, size=(min(chunk, resamples - start), d.size))].mean(axis=1)
                            for start in range(0, resamples, chunk)])
    alpha = expanded_alpha(d.size, level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def verdict(low: float, high: float, metric: str) -> str:
    """holds / reversed / not resolved, reading the interval of ``better - worse`` in the metric's direction."""
    gain_low, gain_high = sorted((low * _sign(metric), high * _sign(metric)))
    if gain_low > 0:
        return HOLDS
    if gain_high < 0:
        return REVERSED
    return UNRESOLVED


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One claimed inequality on one metric and bin, with our paired statistics and the paper's difference."""

    claim: str
    better: str
    worse: str
    metric: str
    bin: str
    n: int
    difference: float | None  # mean of better - worse over the paired images
    low: float | None
    high: float | None
    verdict: str
    paper_difference: float | None = None
    note: str = ""  # why no statistics (a row or metric missing)
    dataset: str = ""  # the report section (our dataset label) it was measured on


def _paper_difference(paper, dataset: str | None, better: str, worse: str, metric: str, bin_name: str) -> float | None:
    if paper is None or dataset not in getattr(paper, "columns", {}):
        return None
    bins = paper.columns[dataset]
    paper_bin = bin_name if bin_name in bins else ("default" if bin_name == OVERALL and bins == ["default"] else None)
    if paper_bin is None or metric not in paper.metrics or better not in paper.rows or worse not in paper.rows:
        return None
    a, b = paper.cell(better, metric, dataset, paper_bin), paper.cell(worse, metric, dataset, paper_bin)
    return None if a is None or b is None else a - b


def _bins_of(scores: Scores, rows: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(key[0] for row in rows for key in scores.get(row, {})))


def evaluate(claims: Iterable[Claim], scores: Scores, paper=None, paper_dataset: str | None = None,
             resamples: int = RESAMPLES, seed: int = SEED) -> list[Comparison]:
    """Every paired claim x pair x metric x bin, with our mean difference, its interval and the verdict.

    ``paper``: a :class:`~inpainting.eval.paper_tables.PaperTable` (None: no paper column);
    ``paper_dataset``: its column compared with ours (e.g. ``"Places2"``). Only images present in both
    rows are paired; a comparison without two pairs is ``not resolved`` with a note."""
    out = []
    for claim in claims:
        if claim.kind != "paired":
            continue
        for better, worse in claim.pairs:
            bins = list(claim.bins) if claim.bins is not None else _bins_of(scores, (better, worse))
            for metric in claim.metrics:
                for bin_name in bins:
                    paper_diff = _paper_difference(paper, paper_dataset, better, worse, metric, bin_name)
                    a, b = scores.get(better, {}), scores.get(worse, {})
                    keys = [k for k in a if bin_name in (k[0], OVERALL) and metric in a[k] and metric in b.get(k, {})]
                    missing = [r for r, s in ((better, a), (worse, b)) if not s]
                    unscored = not missing and not any(metric in v for s in (a, b) for v in s.values())
                    base = dict(claim=claim.id, better=better, worse=worse, metric=metric, bin=bin_name,
                                n=len(keys), paper_difference=paper_diff)
                    if missing:
                        out.append(Comparison(**base, difference=None, low=None, high=None, verdict=MISSING,
                                              note=f"no per-image scores of {', '.join(missing)}"))
                        continue
                    if unscored:  # e.g. LPIPS without its weights file: nothing to decide, counted apart
                        out.append(Comparison(**base, difference=None, low=None, high=None, verdict=MISSING,
                                              note=f"no {metric} scores"))
                        continue
                    if len(keys) < MIN_PAIRS:
                        out.append(Comparison(**base, difference=None, low=None, high=None, verdict=UNRESOLVED,
                                              note=f"{len(keys)} paired image(s) with {metric}; a verdict needs {MIN_PAIRS}"))
                        continue
                    d = np.array([a[k][metric] - b[k][metric] for k in keys])
                    low, high = bootstrap_ci(d, resamples, seed)
                    out.append(Comparison(**base, difference=float(d.mean()), low=low, high=high,
                                          verdict=verdict(low, high, metric)))
    return out


# -- reports -----------------------------------------------------------------------------------------
def counts(verdicts: Iterable[str]) -> dict[str, int]:
    """How many of each verdict."""
    found = {HOLDS: 0, REVERSED: 0, UNRESOLVED: 0, MISSING: 0}
    for v in verdicts:
        found[v] += 1
    return found


def claim_verdict(comparisons: Sequence[Comparison]) -> str:
    """A claim holds when every comparison holds, is reversed when any is, has no scores when none has any,
    else it is not resolved."""
    verdicts = {c.verdict for c in comparisons}
    if REVERSED in verdicts:
        return REVERSED
    if verdicts == {MISSING}:
        return MISSING
    return HOLDS if verdicts - {MISSING} == {HOLDS} else UNRESOLVED


def summary_line(claims: Iterable[Claim], comparisons: Sequence[Comparison]) -> str:
    """``Claims: 1 held, 0 reversed, 2 not resolved (comparisons: 20 held, 1 reversed, 27 not resolved).``"""
    by_claim = [[x for x in comparisons if x.claim == c.id] for c in claims if c.kind == "paired"]
    per_claim = counts(claim_verdict(mine) for mine in by_claim if mine)
    total = counts(c.verdict for c in comparisons)
    unscored = f", {per_claim[MISSING]} without scores (rows not run)" if per_claim[MISSING] else ""
    return (f"Claims: {per_claim[HOLDS]} held, {per_claim[REVERSED]} reversed, {per_claim[UNRESOLVED]} not resolved"
            f"{unscored} (comparisons per metric and bin: {total[HOLDS]} held, {total[REVERSED]} reversed, "
            f"{total[UNRESOLVED]} not resolved{f', {total[MISSING]} without scores' if total[MISSING] else ''}).")


def format_value(value: float | None, metric: str, signed: bool = True) -> str:
    """A difference (signed) or its interval bound as the claims tables print it: one decimal more than the
    metric's own for PSNR and FID; ``-`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    decimals = METRIC_FORMATS[metric].decimals + (1 if metric in ("psnr", "fid") else 0)
    return f"{value:{'+' if signed else ''}.{decimals}f}"


RULE = (f"Each line: the mean over the test images of our per-image difference better - worse (the same image "
        f"and mask in both rows), its {LEVEL:.0%} bootstrap interval ({RESAMPLES:,} resamples of the images, seed "
        f"{SEED}, expanded percentile quantiles) and the verdict: **holds** when the whole interval lies on the "
        f"claimed side of 0 "
        f"(PSNR/SSIM higher, L1/LPIPS/FID lower is better), **reversed** when it lies on the other side, "
        f"**not resolved** when it contains 0 (undecided at this sample size).")


def markdown_section(claims: Sequence[Claim], comparisons: Sequence[Comparison], show_paper: bool = True,
                     heading: str = "### Claims") -> str:
    """The claims part of a report: the summary line, the rule, then per claim one line per comparison.

    ``show_paper=False`` drops the paper's difference (where the scale makes the comparison with the
    paper meaningless, e.g. scale=demo) and says so."""
    parts = [heading, summary_line(claims, comparisons), RULE]
    if not show_paper and any(c.paper_difference is not None for c in comparisons):
        parts.append("The paper's differences are not shown: at this scale they say nothing about ours.")
    header = ["comparison", "metric", "bin", "n", "ours", f"{LEVEL:.0%} CI", "verdict"] + (["paper"] if show_paper else [])
    for claim in claims:
        if claim.kind != "paired":
            continue
        mine = [c for c in comparisons if c.claim == claim.id]
        if not mine:
            continue
        if claim_verdict(mine) == MISSING:
            parts.append(f"**{claim.id}** ({claim.section}): {claim.text}. Verdict: **{MISSING}** ({mine[0].note}).")
            continue
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(":--" if i < 3 else "--:" for i in range(len(header))) + "|"]
        unscored = sorted({c.metric for c in mine if c.verdict == MISSING})
        for c in (c for c in mine if c.verdict != MISSING):
            ci = "-" if c.low is None else f"[{format_value(c.low, c.metric)}, {format_value(c.high, c.metric)}]"
            cells = [f"{c.better} vs {c.worse}", c.metric, c.bin, str(c.n), format_value(c.difference, c.metric), ci,
                     c.verdict + (f" ({c.note})" if c.note else "")]
            lines.append("| " + " | ".join(cells + ([format_value(c.paper_difference, c.metric)] if show_paper else [])) + " |")
        tally = counts(c.verdict for c in mine)
        parts.append(f"**{claim.id}** ({claim.section}): {claim.text}. Verdict: **{claim_verdict(mine)}** "
                     f"({tally[HOLDS]} held, {tally[REVERSED]} reversed, {tally[UNRESOLVED]} not resolved"
                     f"{'; no scores of ' + ', '.join(unscored) if unscored else ''}).\n\n"
                     + "\n".join(lines))
    return "\n\n".join(parts) + "\n"


def write_comparisons_csv(comparisons: Sequence[Comparison], path: str | pathlib.Path) -> pathlib.Path:
    """One line per comparison (the fields of :class:`Comparison`), for machines."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = [f.name for f in dataclasses.fields(Comparison)]
    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        writer.writerows([["" if (v := getattr(c, f)) is None else v for f in fields] for c in comparisons])
    return path


def read_comparisons_csv(path: str | pathlib.Path) -> list[Comparison]:
    """The comparisons :func:`write_comparisons_csv` wrote (empty cells back to None)."""
    kinds = {f.name: f.type for f in dataclasses.fields(Comparison)}
    out = []
    with pathlib.Path(path).open(newline="", encoding="utf-8") as handle:
        for line in csv.DictReader(handle):
            unknown = set(line) - set(kinds)
            if unknown:
                raise ValueError(f"{path}: unknown columns {sorted(unknown)}; a comparisons file has {list(kinds)}")
            values = {}
            for name, text in line.items():
                if "float" in kinds[name]:
                    values[name] = float(text) if text else None
                elif kinds[name] == "int":
                    values[name] = int(text)
                else:
                    values[name] = text
            out.append(Comparison(**values))
    return out
