"""Snakemake adapter: simulate one recording and write its WAV and truth tables."""
from pathlib import Path

from usvflow.simulate.plan import RecordingSpec
from usvflow.simulate.recording import simulate_recording, write_recording
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    spec = RecordingSpec(**smk.params.spec)
    rec = simulate_recording(smk.params.simulation, spec)
    write_recording(rec, smk.output.wav, Path(smk.output.calls).parent)
    print(f"{spec.recording}: {len(rec.calls)} calls, {len(rec.noise)} noise events")


main(snakemake)  # noqa: F821
