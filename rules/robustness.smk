# The seed sweep, `snakemake robustness` (not part of the default run): the simulation and the headline analyses
# rerun per simulation seed (config robustness.seeds). Each seed is the same Snakefile run in its own working
# directory, results/robustness/seed_{seed}/, with this run's configuration and only the seed changed, asked for
# one file: results/robustness/headline.json (rule robustness_headline, which any run can also build). One job
# per seed, so under SLURM each seed is one cluster job that runs its workflow on that job's cores.
# Logic: usvflow.workflow.robustness (planning), usvflow.figures.robustness, usvflow.report.robustness.
#
# figures/robustness.csv         per headline number: mean, SD, min, max over seeds; per claim: pass rate
# figures/robustness_seeds.csv   every seed's values and claim verdicts
# figures/robustness.pdf         both, drawn

from usvflow.workflow import robustness as sweep  # noqa: E402

ROBUSTNESS = config["robustness"]
ROBUSTNESS_SEEDS = [int(s) for s in ROBUSTNESS["seeds"]]
ROBUSTNESS_DATA = (
    f"SIMULATED data (usvflow simulator, preset {PRESET}, seeds "
    f"{', '.join(map(str, ROBUSTNESS_SEEDS))}); not the papers' mice"
)


rule robustness_headline:
    input:
        metrics=fold_paths(TRAIN_JOBS, ("metrics",), "sex", "loao", CNN + ["dnn9"])
        + fold_paths(TRAIN_JOBS, ("metrics",), "strain", "loao", CNN)
        + classical_metrics("sex", SPEC_CLASSICAL)
        + classical_metrics("sex", FEAT_CLASSICAL, feature_task=True)
        + classical_metrics("strain", SPEC_CLASSICAL),
        callspace="results/stats/fig7.json",
    output:
        sweep.HEADLINE,
    log:
        "logs/robustness/headline.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("robustness_headline"),
    params:
        dataset=DATA_LABEL,
    script:
        "../scripts/robustness_headline.py"


rule robustness_seed:
    output:
        f"{sweep.SEED_DIR}/{sweep.HEADLINE}",
    log:
        "logs/robustness/seed_{seed}.log",
    benchmark:
        "benchmarks/robustness/seed_{seed}.tsv"
    wildcard_constraints:
        seed=r"\d+",
    conda:
        "../envs/usvflow.yaml"
    threads: ROBUSTNESS["threads"]
    resources:
        **res("robustness_seed"),
    params:
        workdir=lambda wildcards: sweep.seed_dir(wildcards.seed),
        config=lambda wildcards: sweep.seed_config(config, int(wildcards.seed)),
        snakefile=str(Path(workflow.basedir) / "Snakefile"),
    script:
        "../scripts/robustness_seed.py"


rule robustness_table:
    input:
        headlines=expand(f"{sweep.SEED_DIR}/{sweep.HEADLINE}", seed=ROBUSTNESS_SEEDS),
    output:
        table="figures/robustness.csv",
        seeds="figures/robustness_seeds.csv",
    log:
        "logs/robustness/table.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("robustness_table"),
    params:
        seeds=ROBUSTNESS_SEEDS,
    script:
        "../scripts/robustness_table.py"


rule plot_robustness:
    input:
        table="figures/robustness.csv",
        seeds="figures/robustness_seeds.csv",
    output:
        figure=report(
            "figures/robustness.pdf",
            caption="../report/robustness.rst",
            category="8 Robustness over seeds",
        ),
    log:
        "logs/robustness/plot.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_robustness"),
    params:
        title="Headline numbers and claims over simulation seeds",
        data=ROBUSTNESS_DATA,
    script:
        "../scripts/robustness_plot.py"


# The target: `snakemake robustness` (never registered, so `all` does not include it).
rule robustness:
    input:
        "figures/robustness.csv",
        "figures/robustness_seeds.csv",
        "figures/robustness.pdf",
