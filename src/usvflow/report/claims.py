"""The sex-classification claims of Ivanenko et al. 2020 (Fig 3D/E), checked on a finished run's numbers.

The paper's claim is threefold: the spectrogram CNN classifies the emitter's sex from single calls above
chance across held-out animals, it beats ridge regression and SVMs on the same spectrograms significantly
(paired over the held-out animals, p < 0.01 in the paper), and the same training on shuffled labels stays at
chance (within 5 points of 50 %). :func:`check_sex_claims` reads ``results/stats/fig3.json`` and
says, claim by claim, whether the run shows it. ``python -m usvflow.report.claims`` prints the verdicts (exit 1
when one fails), so a user can see on their own cohort whether the paper's result holds.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Claim:
    name: str
    holds: bool
    detail: str


# The shuffled-label controls, by the key of their model in the stats file and the name the claims print.
CONTROL_NAMES = {"cnn": "CNN", "ridge": "ridge", "svm": "SVM"}


def _mean(values: dict, key: str) -> float:
    m = values.get(key, {}).get("mean")
    return float("nan") if m is None else float(m)


def check_sex_claims(stats_path: str | Path, alpha: float = 0.05, chance_tolerance: float = 0.05) -> list[Claim]:
    """Verdicts on the sex CNN of one run (leave-one-animal-out folds).

    * above chance: one-sided signed-rank p across held-out animals < ``alpha``;
    * above ridge and SVM: for each, the CNN's fold accuracies are higher (positive median paired
      difference) and the paired two-sided signed-rank p over the held-out animals is < ``alpha``
      (``cnn_vs_ridge`` / ``cnn_vs_svm`` in the stats file);
    * controls at chance: every shuffled-label model's mean within ``chance_tolerance`` of 50 %.
    """
    values = json.loads(Path(stats_path).read_text())["values"]
    cnn, ridge, svm = (_mean(values, f"sex_loao_{m}") for m in ("cnn", "ridge", "svm"))
    p = values.get("p_cnn_above_chance")
    p = float("nan") if p is None else float(p)
    n = values.get("sex_loao_cnn", {}).get("n", 0)
    beats, details = [], []
    for other in ("ridge", "svm"):
        test = values.get(f"cnn_vs_{other}") or {}
        pv = test.get("p")
        diff = test.get("median_difference")
        ok = pv is not None and diff is not None and diff > 0 and pv < alpha
        beats.append(ok)
        details.append(f"vs {other}: " + ("not tested" if pv is None else
                                          f"median difference {100 * (diff or 0):+.1f} points, p = {pv:.3g}"))
    claims = [
        Claim("CNN above chance across held-out animals", p < alpha,
              f"{cnn:.1%} over {n} animals, one-sided signed-rank p = {p:.3g} (alpha {alpha})"),
        Claim("CNN above ridge and SVM on spectrograms", all(beats),
              f"mean CNN {cnn:.1%}, ridge {ridge:.1%}, SVM {svm:.1%}; paired signed-rank {'; '.join(details)} "
              f"(alpha {alpha})"),
    ]
    for key, name in CONTROL_NAMES.items():
        a = _mean(values, f"sex_loao_{key}_shuffled")
        claims.append(Claim(f"{name} shuffled at chance", abs(a - 0.5) <= chance_tolerance,
                            f"{a:.1%} (chance 50 % ± {chance_tolerance:.0%})"))
    return claims


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else "results/stats/fig3.json"
    if not Path(path).is_file():
        print(f"usvflow: {path}: not found (run `snakemake figures/fig3.pdf` first)", file=sys.stderr)
        return 2
    claims = check_sex_claims(path)
    for c in claims:
        print(f"{'holds' if c.holds else 'FAILS'}  {c.name}: {c.detail}")
    return 0 if all(c.holds for c in claims) else 1


if __name__ == "__main__":
    raise SystemExit(main())
