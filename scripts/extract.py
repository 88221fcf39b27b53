"""Snakemake adapter: detect the calls of one recording (call table, call images, overview PNG)."""
from pathlib import Path

from usvflow.detect import detect_file, save_spectrograms
from usvflow.figures.detection import plot_overview
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    det = detect_file(smk.input.wav, smk.params.method, params=smk.params.detection, channel=smk.params.channel,
                      overview=True, jobs=smk.threads)
    det.calls.to_csv(smk.output.calls, index=False, float_format="%.6g")
    save_spectrograms(smk.output.spectrograms, det)
    name = Path(smk.input.wav).stem
    plot_overview(det, smk.output.overview, title=f"{name}: {len(det.calls)} calls ({smk.params.method} detector)",
                  note=smk.params.data)
    print(f"{name}: {len(det.calls)} calls in {det.duration_s:.1f} s ({smk.params.method} detector)")


main(snakemake)  # noqa: F821
