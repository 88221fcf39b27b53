# Detection benchmark: our two detectors against human truth on the real AMVOC clips (side by side
# with the five published tools shipped there) and against the simulator's truth, per noise
# condition and call type. Needs rules/extract.smk (DETECTION_METHODS, detection_params).


rule evaluate_detection:
    input:
        real=config.get("realdata_dir", "data/amvoc-dev"),
        sim_truth=sim_detection_inputs("truth"),
        sim_calls=sim_detection_inputs("calls"),
    output:
        table="figures/detection_benchmark.csv",
    params:
        methods=DETECTION_METHODS,
        detection={m: detection_params(m) for m in DETECTION_METHODS},
        recordings=RECORDINGS if SIMULATED else [],
    threads: 2
    resources:
        mem_mb=2000,
        runtime=20,
    log:
        "logs/evaluate_detection.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/evaluate_detection.py"


rule plot_detection_benchmark:
    input:
        table="figures/detection_benchmark.csv",
    output:
        figure="figures/detection_benchmark.pdf",
    log:
        "logs/plot_detection_benchmark.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_detection_benchmark.py"


register(targets=["figures/detection_benchmark.csv", "figures/detection_benchmark.pdf"])
