# Stage 6: SqueakOut (Santana & Dietrich 2024). Crops around detected calls (+ noise crops) with masks from the
# simulator's truth; the paper's dataset refinement measured against that truth (Fig 3); SqueakOut, U-Net, the
# threshold baseline and the null model on animals held out for testing (Table 1, Fig 6); the augmentations
# (Fig 5); and whether an FF line read inside the SqueakOut mask recovers the truth better than the spectrogram
# peak. Needs the simulator's truth: with a user's sample sheet nothing here is requested.

from usvflow.segment.settings import segment_settings  # noqa: E402

SEGMENT = segment_settings(config)
SEGMENT_MODELS = ["unet", "squeakout_noaug", "squeakout"]
SEGMENT_NOTE = (
    f"SIMULATED data: usvflow simulator, preset '{config['preset']}', seed {config['simulation']['seed']}"
    if SIMULATED else f"recordings of sample sheet {config['samples']}"
)


rule segment_dataset:
    input:
        wavs=[SAMPLES.loc[r, "path"] for r in RECORDINGS],
        calls=[f"results/extract/{DATASET_DETECTOR}/{r}.calls.csv" for r in RECORDINGS],
        truth=[f"{SIM_DIR}/truth/{r}.calls.csv" for r in RECORDINGS] if SIMULATED else [],
    output:
        "results/segment/dataset.npz",
    params:
        samples=SAMPLES,
        settings=SEGMENT,
        channel=config.get("channel", 0),
    resources:
        mem_mb=4000,
        runtime=20,
    log:
        "logs/segment/dataset.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/segment_dataset.py"


rule segment_refine:
    input:
        "results/segment/dataset.npz",
    output:
        steps="results/segment/refine_steps.csv",
        masks="results/segment/refined_masks.npz",
    params:
        settings=SEGMENT,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda wildcards: 20 if config["preset"] != "paper" else 720,
        gpu=1,
    log:
        "logs/segment/refine.log",
    benchmark:
        "benchmarks/segment/refine.tsv"
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/segment_refine.py"


rule segment_train:
    input:
        dataset="results/segment/dataset.npz",
        refined=["results/segment/refined_masks.npz"] if SEGMENT["train_masks"] == "refined" else [],
    output:
        model="results/segment/models/{model}.pt",
        history="results/segment/models/{model}.history.csv",
    params:
        settings=SEGMENT,
    wildcard_constraints:
        model="|".join(SEGMENT_MODELS),
    threads: 1
    resources:
        mem_mb=4000,
        runtime=lambda wildcards: 20 if config["preset"] != "paper" else 1440,
        gpu=1,
    log:
        "logs/segment/train_{model}.log",
    benchmark:
        "benchmarks/segment/train_{model}.tsv"
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/segment_train.py"


rule segment_evaluate:
    input:
        dataset="results/segment/dataset.npz",
        models=expand("results/segment/models/{model}.pt", model=SEGMENT_MODELS),
    output:
        table=report("figures/squeakout_table1.csv", caption="../report/squeakout_table1.rst", category="SqueakOut"),
        predictions="results/segment/test_predictions.npz",
        stats="results/stats/squeakout.json",
    params:
        settings=SEGMENT,
        models=SEGMENT_MODELS,
        dataset=SEGMENT_NOTE,
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    log:
        "logs/segment/evaluate.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/segment_evaluate.py"


rule segment_features:
    input:
        dataset="results/segment/dataset.npz",
        predictions="results/segment/test_predictions.npz",
        wavs=[SAMPLES.loc[r, "path"] for r in RECORDINGS],
        truth=[f"{SIM_DIR}/truth/{r}.{kind}" for r in RECORDINGS for kind in ("calls.csv", "contours.npz")],
    output:
        calls="results/segment/features_per_call.csv",
        stats="results/stats/squeakout_features.json",
    params:
        samples=SAMPLES,
        settings=SEGMENT,
        channel=config.get("channel", 0),
        dataset=SEGMENT_NOTE,
    resources:
        mem_mb=3000,
        runtime=20,
    log:
        "logs/segment/features.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/segment_features.py"


rule plot_squeakout_fig3:
    input:
        steps="results/segment/refine_steps.csv",
        masks="results/segment/refined_masks.npz",
        dataset="results/segment/dataset.npz",
    output:
        report("figures/squeakout_fig3.pdf", caption="../report/squeakout_fig3.rst", category="SqueakOut"),
    params:
        note=SEGMENT_NOTE,
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/segment/plot_fig3.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_squeakout_fig3.py"


rule plot_squeakout_fig5:
    input:
        "results/segment/dataset.npz",
    output:
        report("figures/squeakout_fig5.pdf", caption="../report/squeakout_fig5.rst", category="SqueakOut"),
    params:
        note=SEGMENT_NOTE,
        seed=SEGMENT["seed"],
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/segment/plot_fig5.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_squeakout_fig5.py"


rule plot_squeakout_fig6:
    input:
        dataset="results/segment/dataset.npz",
        predictions="results/segment/test_predictions.npz",
    output:
        report("figures/squeakout_fig6.pdf", caption="../report/squeakout_fig6.rst", category="SqueakOut"),
    params:
        note=SEGMENT_NOTE,
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/segment/plot_fig6.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_squeakout_fig6.py"


if SIMULATED:
    register(
        targets=[
            "figures/squeakout_table1.csv",
            "figures/squeakout_fig3.pdf",
            "figures/squeakout_fig5.pdf",
            "figures/squeakout_fig6.pdf",
        ],
        stats=["results/stats/squeakout.json", "results/stats/squeakout_features.json"],
    )
