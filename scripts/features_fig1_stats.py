"""Snakemake adapter: Fig 1 numbers (call counts, rates per animal, property distributions) → fig1.json."""
import numpy as np
import pandas as pd

from usvflow.audio.io import inspect_wav
from usvflow.features.columns import PROPERTIES
from usvflow.report import paper
from usvflow.report.stats import mean_sem
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    table = pd.read_parquet(smk.input.dataset)
    feats = pd.read_parquet(smk.input.features)
    group, levels = smk.params.group, list(smk.params.levels)
    samples = smk.params.samples
    minutes = {rec: inspect_wav(path).duration_s / 60 for rec, path in zip(samples.index, smk.input.wavs)}
    # Animals with no call still count (zero rate): they come from the sample sheet, not the call table.
    per_animal_min = samples.assign(minutes=samples.index.map(minutes)).groupby("animal")["minutes"].sum()
    n_calls = table.groupby("animal").size().reindex(per_animal_min.index, fill_value=0)
    rates = (n_calls / per_animal_min).to_dict()
    animal_group = samples.groupby("animal")[group].first().astype(str).to_dict()
    counts = {lvl: int((table[group].astype(str) == lvl).sum()) if len(table) else 0 for lvl in levels}
    props = {}
    for prop in PROPERTIES:
        props[prop] = {lvl: feats.loc[table[group].astype(str).to_numpy() == lvl, prop].value_counts(normalize=True)
                       .sort_index().rename(index=lambda v: f"{v:g}").to_dict() for lvl in levels}
    values = {"n_calls": int(len(table)), "n_animals": int(len(per_animal_min)), "calls_per_group": counts,
              "rates_per_animal": rates, "animal_group": animal_group,
              "rate_mean_sem": {lvl: mean_sem([r for a, r in rates.items() if animal_group[a] == lvl]) for lvl in levels},
              "property_distribution": props,
              "properties_source": feats["properties_source"].value_counts().to_dict() if len(feats) else {}}

    def rate(lvl):
        m, s = values["rate_mean_sem"][lvl]
        k = sum(animal_group[a] == lvl for a in rates)
        return f"{m:.0f} ± {s:.0f} (n={k} animals)" if np.isfinite(m) else "n/a"

    paper_rate = paper.FIG1_RATE
    paper_count = paper.FIG1_CALLS_PER_SEX
    rows = [{"quantity": "calls in the cohort", "paper": paper.FIG1_CALLS,
             "ours": f"{len(table):,} ({len(per_animal_min)} animals)"}]
    rows += [{"quantity": f"calls, {lvl}", "paper": paper_count.get(lvl, "n/a"), "ours": f"{counts[lvl]:,}"}
             for lvl in levels]
    rows += [{"quantity": f"call rate, {lvl} (calls/min, mean ± SEM over animals)",
              "paper": paper_rate.get(lvl, "n/a"), "ours": rate(lvl)} for lvl in levels]
    rows.append({"quantity": "source of the six scored properties", "paper": "two human evaluators",
                 "ours": ", ".join(f"{k}: {v}" for k, v in values["properties_source"].items())})
    write_stats(smk.output[0], "fig1", smk.params.dataset, values, rows)


main(snakemake)  # noqa: F821
