# Stage 4: the paper's per-call features (FF line, energy line, spectral marginal, 24 single values) and the
# six scored properties (reference where one exists, auto-scored otherwise). Logic: usvflow.features.
#
# Per recording: results/features/per_recording/{recording}.features.parquet + .vectors.npz (every detected
# call, detector order). Per cohort: results/features/{cohort}.features.parquet + .vectors.npz, row-aligned
# with results/dataset/{cohort}.calls.parquet (columns documented in usvflow.features).


rule features_recording:
    input:
        wav=wav_path,
        calls=f"results/extract/{DATASET_DETECTOR}/{{recording}}.calls.csv",
    output:
        table="results/features/per_recording/{recording}.features.parquet",
        vectors="results/features/per_recording/{recording}.vectors.npz",
    log:
        "logs/features/{recording}.log",
    benchmark:
        "benchmarks/features/{recording}.tsv"
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("features_recording"),
    params:
        features=config["features"]["params"],
        channel=CHANNEL,
        min_sample_rate_hz=config["min_sample_rate_hz"],
    script:
        "../scripts/features_recording.py"


rule features_cohort:
    input:
        dataset="results/dataset/{cohort}.calls.parquet",
        tables=lambda wildcards: expand(
            "results/features/per_recording/{recording}.features.parquet",
            recording=cohort_recordings(wildcards.cohort),
        ),
        vectors=lambda wildcards: expand(
            "results/features/per_recording/{recording}.vectors.npz",
            recording=cohort_recordings(wildcards.cohort),
        ),
    output:
        table="results/features/{cohort}.features.parquet",
        vectors="results/features/{cohort}.vectors.npz",
    log:
        "logs/features/{cohort}.cohort.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("features_cohort"),
    params:
        recordings=lambda wildcards: cohort_recordings(wildcards.cohort),
    script:
        "../scripts/features_cohort.py"


# Feature recovery against the simulator's truth (simulated data only).
rule feature_recovery:
    input:
        datasets=expand("results/dataset/{cohort}.calls.parquet", cohort=COHORTS),
        features=expand("results/features/{cohort}.features.parquet", cohort=COHORTS),
        truth=truth_files(RECORDINGS),
    output:
        table=report(
            "figures/feature_recovery.csv",
            caption="../report/feature_recovery.rst",
            category="3 Features",
            subcategory="Recovery of the truth",
        ),
        calls="results/features/feature_recovery_calls.csv",
    log:
        "logs/features/feature_recovery.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("feature_recovery"),
    params:
        recordings=RECORDINGS,
        data=DATA["caption"],
    script:
        "../scripts/feature_recovery.py"


register(targets=["figures/feature_recovery.csv"] if SIMULATED else [])
