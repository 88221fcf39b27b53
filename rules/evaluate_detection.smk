# Detection benchmark: our two detectors against human truth on the real AMVOC clips (side by side
# with the five published tools shipped there), the default detector again with its settings chosen
# leave-one-clip-out, and against the simulator's truth, per noise condition, recording condition and
# call type. Reads only the files declared here.


EXTRACT_DIR = "results/extract"


rule evaluate_detection:
    input:
        real=REALDATA_FILES,
        sim_truth=truth_files(RECORDINGS, ("calls.csv", "noise.csv")),
        sim_calls=(
            expand(
                f"{EXTRACT_DIR}/{{method}}/{{recording}}.calls.csv",
                method=DETECTION_METHODS,
                recording=RECORDINGS,
            )
            if SIMULATED
            else []
        ),
    output:
        table=report(
            "figures/detection_benchmark.csv",
            caption="../report/detection_benchmark.rst",
            category="2 Detection",
            subcategory="Benchmark",
        ),
        selection="figures/detection_selection.csv",
    log:
        "logs/evaluate_detection.log",
    conda:
        "../envs/usvflow.yaml"
    threads: 2
    resources:
        **res("evaluate_detection"),
    params:
        methods=DETECTION_METHODS,
        detection={m: config["detection"][m] for m in DETECTION_METHODS},
        loco_grid=config["detection_selection"]["grid"],
        recordings=RECORDINGS if SIMULATED else [],
        realdata_dir=lambda wildcards, input: planning.realdata_root(input.real),
        truth_dir=lambda wildcards, input: planning.folder_of(input.sim_truth),
        extract_dir=lambda wildcards, input: planning.folder_of(input.sim_calls, up=2),
    script:
        "../scripts/evaluate_detection.py"


rule plot_detection_benchmark:
    input:
        table="figures/detection_benchmark.csv",
    output:
        figure=report(
            "figures/detection_benchmark.pdf",
            caption="../report/detection_benchmark.rst",
            category="2 Detection",
            subcategory="Benchmark",
        ),
    log:
        "logs/plot_detection_benchmark.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_detection_benchmark"),
    params:
        recordings=RECORDINGS if SIMULATED else [],
        # The figure's data tag: the real annotated clips, and the simulated cohort where one is run.
        data=(
            f"{DATA['cohort']} and real annotated clips ({config['realdata_dir']})"
            if SIMULATED
            else f"real annotated clips ({config['realdata_dir']})"
        ),
    script:
        "../scripts/plot_detection_benchmark.py"


register(
    targets=[
        "figures/detection_benchmark.csv",
        "figures/detection_selection.csv",
        "figures/detection_benchmark.pdf",
    ]
)
