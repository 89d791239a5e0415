"""``cyclebench claims``: the verdict table of the paper's claims, its renderings and figure.

    cyclebench claims --config-json CLAIMS_CFG --metrics-csv CSV... --stats NPZ...
        [--claims eval/data/paper_claims.yaml] --out-dir TABLES_DIR --figure PNG

writes ``claims.csv`` (tidy, both levels), ``claims.md`` and ``claims.html`` (the summary
"N of M claims reproduced, K contradicted", one row per claim, then every comparison) and a
figure: each comparison's difference with its interval, oriented so that right of zero is the
paper's side, coloured by verdict, one panel per metric.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from cyclebench.config import ClaimsConfig  # noqa: E402
from cyclebench.eval.claims import (CLAIMS_FILE, comparison_label, evaluate, load_claims,  # noqa: E402
                                    summary)
from cyclebench.eval.metrics import format_value  # noqa: E402
from cyclebench.eval.plots import save_figure  # noqa: E402
from cyclebench.eval.score import read_stats  # noqa: E402
from cyclebench.eval.table_build import collect_metric_rows  # noqa: E402
from cyclebench.eval.table_render import to_html, to_markdown  # noqa: E402
from cyclebench.utils import atomic_write_text  # noqa: E402

COLOURS = {"reproduced": "#1b7837", "contradicted": "#b2182b", "inconclusive": "#878787",
           "not run": "#d9d9d9"}


def _interval(row) -> str:
    if pd.isna(row["difference"]):
        return "n/a"
    f = lambda v: format_value(row["metric"], v)  # noqa: E731
    return f"{f(row['difference'])} [{f(row['ci_low'])}, {f(row['ci_high'])}]"


def render(table: pd.DataFrame) -> tuple[str, str, pd.DataFrame, pd.DataFrame]:
    """(title, caption, claims table, comparisons table) in the paper-like layout."""
    claims = table[table["level"] == "claim"]
    comps = table[table["level"] == "comparison"]
    profile = table["profile"].iloc[0] if len(table) else "?"
    conf = table["confidence"].iloc[0] if len(table) else 0.95
    seeds = sorted({int(n) for n in comps["n_seeds"] if n})
    title = f"The paper's claims: {summary(table)}"
    cap = (f"Profile: {profile}. Each comparison: mean over seeds of better - worse (the tables' "
           f"values) and its {conf:.0%} interval from a hierarchical bootstrap (seeds, then val "
           "images, the same images for both methods). reproduced = the interval lies on the "
           "paper's side (higher segmentation scores, lower FID/KID), contradicted = on the "
           "other side, inconclusive = it straddles zero. A claim is reproduced only if all its "
           "comparisons are, contradicted if any is. Seeds per comparison: "
           f"{', '.join(map(str, seeds)) if seeds else 'none'}.")
    if seeds == [1]:
        cap += (" With one seed the intervals cover the sampling of val images only, not the "
                "variation between training runs.")
    claim_view = pd.DataFrame({
        "Claim": claims["claim"], "Source": claims["source"], "Statement": claims["comparison"],
        "Verdict": claims["verdict"], "Comparisons": claims["note"]})
    comp_view = pd.DataFrame({
        "Claim": comps["claim"], "Comparison": comps["comparison"],
        "Direction": comps["direction"], "Metric": comps["metric"],
        "Difference [interval]": [_interval(r) for _, r in comps.iterrows()],
        "Seeds": comps["n_seeds"], "Images": comps["n_images"], "Verdict": comps["verdict"]})
    return title, cap, claim_view, comp_view


def write(table: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    out_dir = Path(out_dir)
    title, cap, claim_view, comp_view = render(table)
    atomic_write_text(out_dir / "claims.csv", table.to_csv(index=False, lineterminator="\n"))
    md = (f"### {title}\n\n{to_markdown(claim_view)}\n#### Comparisons\n\n"
          f"{to_markdown(comp_view)}\n{cap}\n")
    atomic_write_text(out_dir / "claims.md", md)
    page = to_html(title, cap, claim_view)
    second = to_html("", "", comp_view)
    table = second[second.index("<table>"): second.index("</table>") + len("</table>")]
    page = page.replace("</body>", f"<h3>Comparisons</h3>{table}</body>", 1)
    atomic_write_text(out_dir / "claims.html", page)
    return [out_dir / f"claims.{ext}" for ext in ("csv", "md", "html")]


def figure(table: pd.DataFrame, path: str | Path) -> Path:
    """Differences with intervals, right of zero = the paper's side, one panel per metric."""
    comps = table[table["level"] == "comparison"].copy()
    metrics = list(dict.fromkeys(comps["metric"])) or ["(none)"]
    heights = [max(1, (comps["metric"] == m).sum()) for m in metrics]
    fig, axes = plt.subplots(len(metrics), 1, figsize=(9, 1.2 + 0.28 * sum(heights)),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    for ax, metric in zip(axes[:, 0], metrics):
        sub = comps[comps["metric"] == metric].reset_index(drop=True)
        sign = [1.0 if h else -1.0 for h in sub["higher_is_better"]]
        for i, (_, row) in enumerate(sub.iterrows()):
            colour = COLOURS.get(row["verdict"], "#000000")
            if math.isnan(row["difference"]):
                ax.text(0, i, "not run", va="center", ha="center", fontsize=7, color="#666666")
                continue
            d, lo, hi = (sign[i] * row[k] for k in ("difference", "ci_low", "ci_high"))
            lo, hi = min(lo, hi), max(lo, hi)
            ax.errorbar(d, i, xerr=[[d - lo], [hi - d]], fmt="o", color=colour, capsize=3,
                        markersize=4)
        ax.axvline(0, color="#444444", lw=0.8)
        ax.set_yticks(range(len(sub)))
        ax.set_yticklabels([comparison_label(r) for _, r in sub.iterrows()], fontsize=7)
        ax.set_ylim(len(sub) - 0.5, -0.5)
        better = "higher" if sub["higher_is_better"].all() else "lower"
        ax.set_xlabel(f"{metric}: advantage of the claimed better method ({better} is better; "
                      "> 0 = as the paper claims)", fontsize=8)
    handles = [plt.Line2D([], [], marker="o", ls="", color=c, label=v) for v, c in COLOURS.items()]
    fig.legend(handles=handles, loc="upper right", fontsize=7, ncol=4, frameon=False)
    fig.suptitle(summary(table), fontsize=10, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return save_figure(fig, path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="cyclebench claims",
                                description="Verdicts of the paper's claims with bootstrap "
                                            "intervals.")
    p.add_argument("--config-json", required=True, help="ClaimsConfig as JSON text or a file")
    p.add_argument("--metrics-csv", nargs="+", required=True, metavar="CSV",
                   help="the tidy metric rows of every run (the tables' inputs)")
    p.add_argument("--stats", nargs="+", required=True, metavar="NPZ",
                   help="the per-image statistics of every score (cyclebench score --stats)")
    p.add_argument("--claims", default=str(CLAIMS_FILE),
                   help="the claims file (default: the paper's, shipped in eval/data)")
    p.add_argument("--out-dir", required=True, help="where claims.csv/.md/.html go")
    p.add_argument("--figure", required=True, help="the figure (PNG)")
    args = p.parse_args(argv)
    cfg = ClaimsConfig.from_arg(args.config_json)
    claims = load_claims(args.claims)
    rows = collect_metric_rows(args.metrics_csv)
    table = evaluate(claims, rows, [read_stats(s) for s in args.stats], cfg)
    written = write(table, args.out_dir) + [figure(table, args.figure)]
    print(summary(table))
    for path in written:
        print(path)
    return 0
