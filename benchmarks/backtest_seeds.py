"""The shipped backtest over several seeds: per policy, the mean and a 95% t-interval over seeds.

    .venv/bin/python -m pricing backtest --months 24 --seed S --out runs/seedS     # for each seed
    .venv/bin/python benchmarks/backtest_seeds.py runs/seed1 runs/seed2 ... [--picture FILE]

Prints a Markdown table (the one in ``docs/backtest.md``) and, per policy, the mean regret of
months 1-6, 7-12, 13-24 (how fast the loop learns). ``--picture`` writes the mean regret by month
over seeds, with the seeds' range shaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pricing.runs.backtest.metrics import seed_summary  # noqa: E402

_COLUMNS = (
    ("share_of_oracle_pct", "% of oracle", "{:.2f}"),
    ("vs_static_pct", "vs static, %", "{:+.1f}"),
    ("total_regret", "regret, M CNY", "{:.2f}"),
    ("target_missed", "market-months below target", "{:.1f}"),
    ("churn_per_bundle", "price changes / bundle-month", "{:.2f}"),
    ("price_coef_error_pct_last", "price coef error, % (month 24)", "{:.1f}"),
    ("appeal_rmse_last", "appeal RMSE (month 24)", "{:.3f}"),
    ("untested_appeal_rmse_last", "untested SKU appeal RMSE (month 24)", "{:.3f}"),
)


_COLOURS = {"oracle": "#444444", "loop": "#1f77b4", "thompson": "#d62728", "static": "#2ca02c"}


def markdown(summary: pd.DataFrame) -> str:
    header = "| policy | " + " | ".join(label for _, label, _ in _COLUMNS) + " |"
    lines = [header, "|---" * (len(_COLUMNS) + 1) + "|"]
    for row in summary.to_dict("records"):
        cells = []
        for key, _, fmt in _COLUMNS:
            scale = 1e-6 if key == "total_regret" else 1.0
            mean, half = row[key] * scale, row[key + "_half_width"] * scale
            cells.append(f"{fmt.format(mean)} ± {fmt.replace('+', '').format(abs(half))}" if half == half
                         else fmt.format(mean))
        lines.append(f"| {row['policy']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def learning_speed(tables: list[pd.DataFrame]) -> str:
    frame = pd.concat(tables, ignore_index=True)
    frame["period"] = pd.cut(frame["month_index"] + 1, [0, 6, 12, 24], labels=["1-6", "7-12", "13-24"])
    means = frame.groupby(["policy", "period"], sort=False, observed=True)["regret_pct"].mean().unstack()
    return "mean regret, % of the oracle's margin, by months:\n" + means.round(2).to_string()


def paired_against_loop(tables: list[pd.DataFrame]) -> str:
    """Each policy minus the loop, seed by seed (both faced the same buyers), in points of the
    oracle's margin: the mean and a 95% t-interval over seeds."""
    from scipy import stats

    shares = pd.DataFrame([t[t["month_index"] == t["month_index"].max()].set_index("policy")["cum_share_of_oracle"]
                           for t in tables])
    if "loop" not in shares.columns:
        return ""
    lines = ["paired with the loop (same seeds), cumulative share of the oracle, points:"]
    for policy in shares.columns.drop("loop"):
        diff = 100 * (shares[policy] - shares["loop"]).to_numpy()
        half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / len(diff) ** 0.5 if len(diff) > 1 else float("nan")
        lines.append(f"  {policy} - loop: {diff.mean():+.3f} ± {half:.3f} (seeds: {', '.join(f'{d:+.3f}' for d in diff)})")
    return "\n".join(lines)


def picture(tables: list[pd.DataFrame], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    frame = pd.concat(tables, ignore_index=True)
    figure = Figure(figsize=(9, 4.5), dpi=110, layout="constrained")
    axis = figure.subplots()
    for policy, rows in frame.groupby("policy", sort=False):
        by_month = rows.groupby("month_index")["regret_pct"]
        months = by_month.mean().index + 1
        colour = _COLOURS.get(str(policy))
        axis.plot(months, by_month.mean(), marker="o", ms=3, label=f"{policy} (mean of {len(tables)} seeds)",
                  color=colour)
        axis.fill_between(months, by_month.min(), by_month.max(), alpha=0.15, color=colour)
    axis.set_yscale("symlog", linthresh=0.1)
    axis.axhline(0, color="black", lw=0.6)
    axis.set_xlabel("simulated month")
    axis.set_ylabel("regret, % of the oracle's margin (symlog)")
    axis.set_title("Regret by month over seeds (line: mean; band: lowest to highest seed)")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.savefig(path, format="png", metadata={"Software": None})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="backtest output folders, one per seed")
    parser.add_argument("--picture", type=Path, default=None)
    args = parser.parse_args()
    tables = [pd.read_csv(folder / "backtest.csv") for folder in args.runs]
    print(f"{len(tables)} seeds: {', '.join(str(f) for f in args.runs)}\n")
    print(markdown(seed_summary(tables)))
    print()
    print(learning_speed(tables))
    print()
    print(paired_against_loop(tables))
    if args.picture is not None:
        picture(tables, args.picture)
        print(f"\nwrote {args.picture}")


if __name__ == "__main__":
    main()
