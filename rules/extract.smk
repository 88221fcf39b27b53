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
        overview="results/extract/{method}/{recording}.overview.png",
    params:
        method="{method}",
        detection=lambda wildcards: detection_params(wildcards.method),
        channel=config.get("channel", 0),
    wildcard_constraints:
        method="|".join(DETECTION_METHODS),
    threads: 2
    resources:
        mem_mb=1500,
        runtime=30,
    log:
        "logs/extract/{method}/{recording}.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/extract.py"
