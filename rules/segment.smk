# Stage 6: SqueakOut (Santana & Dietrich 2024). Crops around detected calls (+ noise crops) with masks from the
# simulator's truth; the paper's dataset refinement measured against that truth (Fig 3); SqueakOut, U-Net, the
# threshold baseline and the null model on animals held out for testing (Table 1, Fig 6); the augmentations
# (Fig 5); and whether an FF line read inside the SqueakOut mask recovers the truth better than the spectrogram
# peak. Needs the simulator's truth: with a user's sample sheet nothing here is requested.
# Each rule gets only the settings it reads: a new learning rate retrains the models, not the crops.

from usvflow.segment.settings import MODELS as SEGMENT_MODEL_SPECS  # noqa: E402
from usvflow.segment.settings import parameter_counts, segment_settings  # noqa: E402

SEGMENT = segment_settings(config)
# Table 1's trained models (SqueakOut and U-Net, each with and without augmentation), each with every seed:
# one training job per (model, seed), so a cluster or a multi-GPU machine trains them side by side.
SEGMENT_MODELS = list(SEGMENT_MODEL_SPECS)
SEGMENT_SEEDS = [int(s) for s in SEGMENT["seeds"]]
SEGMENT_RUN = "results/segment/models/{model}/seed{seed}"
SEGMENT_NOTE = DATA["segment"]
FIG_SEGMENT = "6 Segmentation (Santana & Dietrich 2024)"
SEGMENT_WAVS = [SAMPLES.loc[r, "path"] for r in RECORDINGS]


rule segment_dataset:
    input:
        wavs=SEGMENT_WAVS,
        calls=[f"results/extract/{DATASET_DETECTOR}/{r}.calls.csv" for r in RECORDINGS],
        # load_truth reads the calls, the noise events and the contours of every recording.
        truth=truth_files(RECORDINGS, ("calls.csv", "noise.csv", "contours.npz")),
    output:
        "results/segment/dataset.npz",
    log:
        "logs/segment/dataset.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("segment_dataset"),
    params:
        samples=SAMPLES,
        settings=planning.segment_rule_settings(SEGMENT, "segment_dataset"),
        channel=CHANNEL,
    script:
        "../scripts/segment_dataset.py"


rule segment_refine:
    input:
        "results/segment/dataset.npz",
    output:
        steps="results/segment/refine_steps.csv",
        masks="results/segment/refined_masks.npz",
        stats="results/stats/squeakout_refine.json",
    log:
        "logs/segment/refine.log",
    benchmark:
        "benchmarks/segment/refine.tsv"
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("segment_refine"),
        gpu=1,
    params:
        settings=planning.segment_rule_settings(SEGMENT, "segment_refine"),
        dataset=SEGMENT_NOTE,
    script:
        "../scripts/segment_refine.py"


rule segment_train:
    input:
        dataset="results/segment/dataset.npz",
        refined=(
            ["results/segment/refined_masks.npz"]
            if SEGMENT["train_masks"] == "refined"
            else []
        ),
    output:
        model=f"{SEGMENT_RUN}.pt",
        history=f"{SEGMENT_RUN}.history.csv",
        predictions=f"{SEGMENT_RUN}.test.npz",
        metrics=f"{SEGMENT_RUN}.json",
    log:
        "logs/segment/train_{model}_seed{seed}.log",
    benchmark:
        "benchmarks/segment/train_{model}_seed{seed}.tsv"
    wildcard_constraints:
        model=alternation(SEGMENT_MODELS),
        seed=r"\d+",
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("segment_train"),
        gpu=1,
    params:
        settings=planning.segment_rule_settings(SEGMENT, "segment_train"),
    script:
        "../scripts/segment_train.py"


rule segment_evaluate:
    input:
        dataset="results/segment/dataset.npz",
        # model-major, seed-minor: the order the script reads them in
        predictions=[
            SEGMENT_RUN.format(model=m, seed=s) + ".test.npz"
            for m in SEGMENT_MODELS
            for s in SEGMENT_SEEDS
        ],
        metrics=[
            SEGMENT_RUN.format(model=m, seed=s) + ".json"
            for m in SEGMENT_MODELS
            for s in SEGMENT_SEEDS
        ],
    output:
        table=report(
            "figures/squeakout_table1.csv",
            caption="../report/squeakout_table1.rst",
            category=FIG_SEGMENT,
            subcategory="Table 1",
        ),
        predictions="results/segment/test_predictions.npz",
        stats="results/stats/squeakout.json",
    log:
        "logs/segment/evaluate.log",
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("segment_evaluate"),
    params:
        models=SEGMENT_MODELS,
        seeds=SEGMENT_SEEDS,
        dataset=SEGMENT_NOTE,
        data=DATA["caption"],
        settings=planning.segment_rule_settings(SEGMENT, "segment_train"),
        parameters=parameter_counts(SEGMENT),
    script:
        "../scripts/segment_evaluate.py"


rule segment_features:
    input:
        dataset="results/segment/dataset.npz",
        predictions="results/segment/test_predictions.npz",
        wavs=SEGMENT_WAVS,
        truth=truth_files(RECORDINGS, ("calls.csv", "noise.csv", "contours.npz")),
    output:
        calls="results/segment/features_per_call.csv",
        stats="results/stats/squeakout_features.json",
    log:
        "logs/segment/features.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("segment_features"),
    params:
        samples=SAMPLES,
        channel=CHANNEL,
        dataset=SEGMENT_NOTE,
    script:
        "../scripts/segment_features.py"


rule plot_squeakout_fig3:
    input:
        steps="results/segment/refine_steps.csv",
        masks="results/segment/refined_masks.npz",
        dataset="results/segment/dataset.npz",
    output:
        report(
            "figures/squeakout_fig3.pdf",
            caption="../report/squeakout_fig3.rst",
            category=FIG_SEGMENT,
            subcategory="Figures",
        ),
    log:
        "logs/segment/plot_fig3.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_squeakout_fig3"),
    params:
        note=SEGMENT_NOTE,
        data=DATA["caption"],
        min_thickness=SEGMENT["refine"]["min_thickness"],
    script:
        "../scripts/plot_squeakout_fig3.py"


rule plot_squeakout_fig5:
    input:
        "results/segment/dataset.npz",
    output:
        report(
            "figures/squeakout_fig5.pdf",
            caption="../report/squeakout_fig5.rst",
            category=FIG_SEGMENT,
            subcategory="Figures",
        ),
    log:
        "logs/segment/plot_fig5.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_squeakout_fig5"),
    params:
        note=SEGMENT_NOTE,
        seed=SEGMENT["seed"],
        data=DATA["caption"],
    script:
        "../scripts/plot_squeakout_fig5.py"


rule plot_squeakout_fig6:
    input:
        dataset="results/segment/dataset.npz",
        predictions="results/segment/test_predictions.npz",
    output:
        report(
            "figures/squeakout_fig6.pdf",
            caption="../report/squeakout_fig6.rst",
            category=FIG_SEGMENT,
            subcategory="Figures",
        ),
    log:
        "logs/segment/plot_fig6.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_squeakout_fig6"),
    params:
        note=SEGMENT_NOTE,
        data=DATA["caption"],
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
        stats=[
            "results/stats/squeakout.json",
            "results/stats/squeakout_refine.json",
            "results/stats/squeakout_features.json",
        ],
    )
