# Stage 2: extract calls from every recording (two detectors: the project's default and the paper's).
#
# Per recording and method: results/extract/{method}/{recording}.calls.csv (call table),
# .spectrograms.npz (the paper's 100x100 uint8 image per call; arrays documented in usvflow.detect)
# and .overview.png (the recording with its detections drawn, for visual checks).


rule extract_calls:
    input:
        wav=wav_path,
    output:
        calls="results/extract/{method}/{recording}.calls.csv",
        spectrograms="results/extract/{method}/{recording}.spectrograms.npz",
        overview=report(
            "results/extract/{method}/{recording}.overview.png",
            caption="../report/overview.rst",
            category="2 Detection",
            subcategory="Recordings, {method} detector",
            labels={"recording": "{recording}", "detector": "{method}"},
        ),
    log:
        "logs/extract/{method}/{recording}.log",
    benchmark:
        "benchmarks/extract/{method}/{recording}.tsv"
    wildcard_constraints:
        method=alternation(DETECTION_METHODS),
    conda:
        "../envs/usvflow.yaml"
    threads: 2
    resources:
        **res("extract_calls"),
    params:
        method="{method}",
        detection=lambda wildcards: planning.detection_settings(
            config, wildcards.method
        ),
        channel=CHANNEL,
        data=DATA["caption"],
    script:
        "../scripts/extract.py"
