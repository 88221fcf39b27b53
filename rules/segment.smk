# Stage 6: SqueakOut (Santana & Dietrich 2024). Crops around detected calls (+ noise crops) with masks from the
# simulator's truth; the paper's dataset refinement measured against that truth (Fig 3); SqueakOut, U-Net, the
# threshold baseline and the null model on animals held out for testing (Table 1, Fig 6); the augmentations
# (Fig 5); and whether an FF line read inside the SqueakOut mask recovers the truth better than the spectrogram
# peak. Needs the simulator's truth: with a user's sample sheet nothing here is requested.
# Each rule gets only the settings it reads: a new learning rate retrains the models, not the crops.

from usvflow.segment.settings import segment_settings  # noqa: E402

SEGMENT = segment_settings(config)
SEGMENT_MODELS = ["unet", "squeakout_noaug", "squeakout"]
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
        model="results/segment/models/{model}.pt",
        history="results/segment/models/{model}.history.csv",
    log:
        "logs/segment/train_{model}.log",
    benchmark:
        "benchmarks/segment/train_{model}.tsv"
    wildcard_constraints:
        model=alternation(SEGMENT_MODELS),
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
        models=expand("results/segment/models/{model}.pt", model=SEGMENT_MODELS),
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
        dataset=SEGMENT_NOTE,
        data=DATA["caption"],
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
        stats=["results/stats/squeakout.json", "results/stats/squeakout_features.json"],
    )
