"""Snakemake adapter: one seed of the sweep. Writes the seed's config.yaml in its own working directory and runs
the same Snakefile there for the headline file only (usvflow.workflow.robustness)."""
import json
import subprocess
import sys
from pathlib import Path

import yaml

from usvflow.workflow.robustness import seed_command
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    workdir = Path(smk.params.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    # JSON first: the resolved config as plain lists and dicts, written in a stable order.
    (workdir / "config.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(smk.params.config)), sort_keys=True))
    cmd = seed_command(sys.executable, smk.params.snakefile, workdir, smk.threads)
    print(" ".join(cmd), flush=True)
    done = subprocess.run(cmd, stdout=sys.stdout, stderr=sys.stderr, check=False)
    if done.returncode:
        sys.exit(f"usvflow: seed {smk.wildcards.seed}: the run in {workdir} failed (exit {done.returncode}); "
                 f"its log is above and its jobs' logs are under {workdir}/logs")


main(snakemake)  # noqa: F821
