# Stage 1: the simulated cohort (default data) and how it compares with real recordings.


rule simulate_recording:
    output:
        wav=f"{SIM_DIR}/wav/{{recording}}.wav",
        calls=f"{SIM_DIR}/truth/{{recording}}.calls.csv",
        noise=f"{SIM_DIR}/truth/{{recording}}.noise.csv",
        contours=f"{SIM_DIR}/truth/{{recording}}.contours.npz",
        nuisance=f"{SIM_DIR}/truth/{{recording}}.nuisance.csv",
    log:
        "logs/simulate/{recording}.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("simulate_recording"),
    params:
        simulation=planning.simulation_settings(config["simulation"]),
        spec=sim_spec,
    script:
        "../scripts/simulate_recording.py"


rule simulated_sample_sheet:
    input:
        expand(f"{SIM_DIR}/wav/{{recording}}.wav", recording=list(SIM_SPECS)),
    output:
        f"{SIM_DIR}/samples.tsv",
    log:
        "logs/simulate/samples.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("simulated_sample_sheet"),
    params:
        samples=SAMPLES,
    script:
        "../scripts/write_sample_sheet.py"


rule simulated_recordings:
    input:
        truth_files(list(SIM_SPECS), ("nuisance.csv",)),
    output:
        f"{SIM_DIR}/truth/recordings.tsv",
    log:
        "logs/simulate/recordings.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("simulated_recordings"),
    script:
        "../scripts/simulate_recordings_table.py"


rule simulator_vs_real:
    input:
        wavs=expand(f"{SIM_DIR}/wav/{{recording}}.wav", recording=list(SIM_SPECS)),
        truth=truth_files(list(SIM_SPECS)),
        real=REALDATA_FILES,
    output:
        figure=report(
            "figures/simulator_vs_real.pdf",
            caption="../report/simulator_vs_real.rst",
            category="1 Data",
            subcategory="Simulator",
        ),
        table="results/stats/simulator_vs_real.csv",
        measurements="results/stats/simulator_vs_real_calls.csv",
    log:
        "logs/simulator_vs_real.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("simulator_vs_real"),
    params:
        realdata_dir=lambda wildcards, input: planning.realdata_root(input.real),
        data=DATA["caption"],
    script:
        "../scripts/simulator_vs_real.py"
