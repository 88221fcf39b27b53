# Stage 1: the simulated cohort (default data) and how it compares with real recordings.


rule simulate_recording:
    output:
        wav=f"{SIM_DIR}/wav/{{recording}}.wav",
        calls=f"{SIM_DIR}/truth/{{recording}}.calls.csv",
        noise=f"{SIM_DIR}/truth/{{recording}}.noise.csv",
        contours=f"{SIM_DIR}/truth/{{recording}}.contours.npz",
    params:
        simulation=config["simulation"],
        spec=sim_spec,
    resources:
        mem_mb=2000,
        runtime=15,
    log:
        "logs/simulate/{recording}.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/simulate_recording.py"


rule simulated_sample_sheet:
    input:
        expand(f"{SIM_DIR}/wav/{{recording}}.wav", recording=list(SIM_SPECS)),
    output:
        f"{SIM_DIR}/samples.tsv",
    params:
        samples=SAMPLES,
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/simulate/samples.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/write_sample_sheet.py"


rule simulator_vs_real:
    input:
        wavs=expand(f"{SIM_DIR}/wav/{{recording}}.wav", recording=list(SIM_SPECS)),
        truth=expand(f"{SIM_DIR}/truth/{{recording}}.calls.csv", recording=list(SIM_SPECS)),
        real=config["realdata_dir"],
    output:
        figure=report(
            "figures/simulator_vs_real.pdf",
            caption="../report/simulator_vs_real.rst",
            category="Simulator",
        ),
        table="results/stats/simulator_vs_real.csv",
        measurements="results/stats/simulator_vs_real_calls.csv",
    params:
        preset=config["preset"],
        seed=config["simulation"]["seed"],
    resources:
        mem_mb=3000,
        runtime=30,
    log:
        "logs/simulator_vs_real.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/simulator_vs_real.py"
