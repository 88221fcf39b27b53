"""Snakemake adapter: Fig 2 numbers (nine features by group, Wilcoxon rank-sum, Bonferroni) → fig2.json."""
import pandas as pd

from usvflow.features.columns import FEATURES_9, NAMES_9
from usvflow.report import paper
from usvflow.report.stats import compare_groups
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main

# Paper (Fig 2A-I): all nine differ between the sexes (rank-sum) except average frequency and direction.
PAPER_NOT_SIGNIFICANT = paper.FIG2_NOT_SIGNIFICANT


@script_main
def main(smk):
    feats = pd.read_parquet(smk.input.features)
    group, levels = smk.params.group, list(smk.params.levels)
    feats[group] = pd.read_parquet(smk.input.dataset)[group].astype(str).to_numpy()  # row-aligned
    tests = compare_groups(feats, FEATURES_9, group, levels)
    tests["significant_uncorrected"] = tests["p"] < 0.05
    sig = tests.loc[tests["significant_uncorrected"], "feature"].tolist()
    not_sig = [NAMES_9[f] for f in FEATURES_9 if f not in sig]
    values = {"tests": tests.to_dict(orient="records"), "n_significant": len(sig),
              "n_significant_bonferroni": int(tests["significant"].sum()), "significant": sig}
    rows = [{"quantity": f"features differing by {group} (Wilcoxon rank-sum, p < 0.05)",
             "paper": "7 of 9; not average frequency, direction",
             "ours": f"{len(sig)} of 9; not {', '.join(not_sig) or 'none'}"},
            {"quantity": "the same after Bonferroni over the 9 tests", "paper": "not reported",
             "ours": f"{int(tests['significant'].sum())} of 9"}]
    for t in tests.itertuples():
        paper = "n.s." if t.feature in PAPER_NOT_SIGNIFICANT else "p < 0.05"
        rows.append({"quantity": f"{NAMES_9[t.feature]}: {levels[0]} vs {levels[1]}", "paper": paper,
                     "ours": f"p = {t.p:.2g}, variance explained {100 * t.variance_explained:.2f} %"})
    write_stats(smk.output[0], "fig2", smk.params.dataset, values, rows)
    print(tests.to_string())


main(snakemake)  # noqa: F821
