"""Snakemake adapter: merge a cohort's detections into one labelled call table and image stack."""
import numpy as np

from usvflow.features.dataset import build_cohort
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    samples = smk.params.samples
    recs = list(samples.index)
    truth = dict(zip(recs, smk.input.truth)) if hasattr(smk.input, "truth") else None
    table, images = build_cohort(samples, dict(zip(recs, smk.input.calls)), dict(zip(recs, smk.input.images)), truth,
                                 smk.params.noise_like)
    table.to_parquet(smk.output.table, index=False)
    np.save(smk.output.images, images)
    noisy = int(table["noise_like"].sum()) if len(table) else 0
    print(f"{len(table)} calls from {len(recs)} recordings, {noisy} of them noise-like (noise_like: "
          f"{smk.params.noise_like}); "
          f"properties from: {table['properties_source'].value_counts().to_dict() if len(table) else {}}")


main(snakemake)  # noqa: F821
