"""The README's measured tables, generated from the committed reports in ``experiments/results/``.

Each block between ``<!-- results: <report stem> -->`` and ``<!-- /results -->`` in README.md is rendered
from ``<stem>.csv`` (our numbers), ``<stem>_claims.csv`` (the paired comparisons) and the run line of
``<stem>.md`` (when, how long, on what): the README never holds a number typed by hand. After a new
``make reproduce ... SCALE=small``, ``make readme-results`` rewrites the blocks; a test fails while the
README and the reports disagree.

    python -m inpainting.reproduce.readme [--check] [--readme README.md] [--results experiments/results]
"""
from __future__ import annotations

import argparse
import csv
import pathlib
import re
import sys

from inpainting.eval.claims import (
    HOLDS,
    MISSING,
    REVERSED,
    UNRESOLVED,
    Comparison,
    claim_verdict,
    counts,
    format_value,
    read_comparisons_csv,
)
from inpainting.eval.tables import METRIC_FORMATS
from inpainting.utils.atomic import write_text

ROOT = pathlib.Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"(<!-- results: (?P<stem>[\w.-]+) -->\n)(?P<body>.*?)(<!-- /results -->)", re.S)
RUN_LINE = re.compile(r"^Ran .*$", re.M)
METRIC = "psnr"  # the README shows one metric per table; the report has them all


def _cell(value: float | None, decimals: int) -> str:
    return "-" if value is None else f"{value:.{decimals}f}"


def metric_table(rows: list[dict], metric: str = METRIC) -> str:
    """Every row of the report with its ``metric`` per bin (the report's column order)."""
    bins = [key.split("/", 1)[1] for key in rows[0] if key.startswith(f"{metric}/") and key.count("/") == 1]
    decimals = METRIC_FORMATS[metric].decimals
    lines = [f"| row | {' | '.join(bins)} |", "|---|" + "---:|" * len(bins)]
    for row in rows:
        cells = [_cell(float(row[f"{metric}/{b}"]) if row[f"{metric}/{b}"] else None, decimals) for b in bins]
        lines.append(f"| {row['method']} | {' | '.join(cells)} |" if row["status"] == "ok"
                     else f"| {row['method']} | **{row['status']}** |" + " |" * (len(bins) - 1))
    return "\n".join(lines)


def claims_table(comparisons: list[Comparison], metric: str = METRIC) -> str:
    """One line per claimed pair: ``metric``'s paired difference per bin with its 95 % interval, and the
    pair's verdict over every metric and bin of the claim."""
    pairs = list(dict.fromkeys((c.claim, c.better, c.worse) for c in comparisons))
    bins = list(dict.fromkeys(c.bin for c in comparisons if c.metric == metric))
    lines = [f"| claim: better − worse | {' | '.join(bins)} | verdict (all metrics and bins) |",
             "|---|" + "---:|" * len(bins) + "---|"]
    for claim, better, worse in pairs:
        mine = [c for c in comparisons if (c.claim, c.better, c.worse) == (claim, better, worse)]
        by_bin = {c.bin: c for c in mine if c.metric == metric}
        cells = []
        for b in bins:
            c = by_bin.get(b)
            cells.append("-" if c is None or c.difference is None else
                         f"{format_value(c.difference, metric)} [{format_value(c.low, metric)}, {format_value(c.high, metric)}] "
                         f"{c.verdict}")
        tally = counts(c.verdict for c in mine)
        scored = len(mine) - tally[MISSING]
        unscored = sorted({c.metric for c in mine if c.verdict == MISSING})
        lines.append(f"| {better} − {worse} | {' | '.join(cells)} | **{claim_verdict(mine)}** ({tally[HOLDS]} held, "
                     f"{tally[REVERSED]} reversed, {tally[UNRESOLVED]} not resolved of {scored}"
                     + (f"; no scores of {', '.join(unscored)}" if unscored else "") + ") |")
    return "\n".join(lines)


def render(stem: str, results: pathlib.Path) -> str:
    """The README block of the report ``results/<stem>.*``."""
    report, numbers, claims = (results / f"{stem}.md", results / f"{stem}.csv", results / f"{stem}_claims.csv")
    for path in (report, numbers, claims):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: the README block {stem!r} is generated from it; run the table "
                                    f"(make reproduce) or take the block out of the README")
    with numbers.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ran = RUN_LINE.search(report.read_text(encoding="utf-8"))
    title = METRIC_FORMATS[METRIC].title
    parts = [f"[`experiments/results/{stem}.md`](experiments/results/{stem}.md)" + (f": {ran.group(0)}" if ran else ""),
             f"Test {title} per hole-ratio bin, every row on the same test pairs:", metric_table(rows),
             f"The table's claims on these pairs ({title} shown; the verdict counts every metric and bin): the mean "
             "paired difference, its 95 % bootstrap interval and the verdict per bin (docs/claims.md):", claims_table(read_comparisons_csv(claims))]
    return "\n\n".join(parts) + "\n"


def sync(readme: pathlib.Path, results: pathlib.Path, check: bool = False) -> list[str]:
    """Rewrite every results block of ``readme`` (with ``check``: change nothing); returns the stale blocks."""
    text = readme.read_text(encoding="utf-8")
    stale = []

    def fill(match: re.Match) -> str:
        body = render(match["stem"], results)
        if body != match["body"]:
            stale.append(match["stem"])
        return match.group(1) + body + match.group(4)

    new = BLOCK.sub(fill, text)
    if stale and not check:
        write_text(readme, new)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readme", type=pathlib.Path, default=ROOT / "README.md")
    parser.add_argument("--results", type=pathlib.Path, default=ROOT / "experiments" / "results")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a block is stale")
    args = parser.parse_args(argv)
    stale = sync(args.readme, args.results, args.check)
    verb = "stale" if args.check else "rewritten"
    print(f"{args.readme}: {len(stale)} block(s) {verb}" + (f": {', '.join(stale)}" if stale else ""))
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
