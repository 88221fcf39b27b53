"""The two papers' published numbers, in one place: every "paper" column of ``figures/summary.md``, every
reference line drawn in a figure and every claim checked comes from here.

Values are copied as printed (text, with the paper's own rounding and units), so they can be shown beside
this run's without reformatting. Ivanenko et al. 2020 (PLoS Comput Biol 16(10): e1008228) for the call
features, classifiers and network analyses; Santana & Dietrich 2024 for SqueakOut.
"""

from __future__ import annotations

# ------------------------------------------------------------------------ Ivanenko et al. 2020, Figs 3-5, S1-S2

#: Accuracies of the networks and baselines (figures and text), keyed by quantity.
IVANENKO_2020 = {
    "sex_loao": "76.7 ± 6.6 % (median ± SEM)", "ridge": "50.7 ± 1.6 %", "svm": "56.2 ± 1.9 %", "has_break": "93.3 %",
    "cnn_vs_classical": "p < 0.01 (DNN higher)",
    "direction": "73.0 ± 0.5 %", "breaks": "68.6 ± 0.4 %", "peaks": "57.0 ± 1.0 %", "broadband": "82.0 ± 0.4 %",
    "dnn9": "59.6 ± 3.0 %", "ridge_feat9": "61.7 ± 3.0 %", "svm_feat9": "57.5 ± 3.7 %",
    "semiconv": "64.5 ± 2.1 %", "ridge_semiconv": "61.9 %", "svm_semiconv": "62.7 %",
    "strain_loao": "63.4 ± 5.3 %", "strain_ridge": "51.0 ± 1.5 %", "strain_svm": "55.0 ± 4.1 %",
    "strain_cnn_vs_ridge": "p = 0.017 (DNN higher)", "strain_cnn_vs_svm": "p = 0.089 (n.s.)",
    "strain_wt_vs_cortexless": "did not differ statistically",  # Fig 5A caption: WT vs cortexless
    "sex_random": "85.1 ± 2.9 % (median across animals)", "individual": "46.4 ± 7.5 % (chance 5.9 %)",
    "sex_above_chance": "15/17 animals", "strain_random": "74.2 %",
}

#: Ridge and SVM, leave-one-animal-out, by (task, model) as named in ``results/train`` (with the figure).
CLASSICAL = {
    ("sex", "ridge"): "50.7 ± 1.6 % (Fig 3E)", ("sex", "svm"): "56.2 ± 1.9 % (Fig 3E)",
    ("sex", "ridge_shuffled"): "at chance (Fig 3E)", ("sex", "svm_shuffled"): "at chance (Fig 3E)",
    ("sex", "ridge_feat9"): "61.7 ± 3.0 % (Fig 4H)", ("sex", "svm_feat9"): "57.5 ± 3.7 % (Fig 4H)",
    ("sex", "ridge_semiconv"): "61.9 % (Fig 4L)", ("sex", "svm_semiconv"): "62.7 % (Fig 4L)",
    ("strain", "ridge"): "51.0 ± 1.5 % (Fig 5B)", ("strain", "svm"): "55.0 ± 4.1 % (Fig 5B)",
    ("strain", "ridge_shuffled"): "at chance (Fig 5B)", ("strain", "svm_shuffled"): "at chance (Fig 5B)",
}

# ------------------------------------------------------------------------ Ivanenko et al. 2020, Figs 1-2

#: The sex cohort: calls, calls per sex and call rate per sex (calls/min, mean ± SEM over animals).
FIG1_CALLS = "10,055 (17 mice)"
FIG1_CALLS_PER_SEX = {"F": "5,723", "M": "4,332"}
FIG1_RATE = {"F": "212 ± 14", "M": "181 ± 32"}

#: Of the nine features of the dense network, these did not differ between the sexes (Fig 2A-I).
FIG2_NOT_SIGNIFICANT = {"mean_frequency_hz", "direction"}

# ------------------------------------------------------------------------ Ivanenko et al. 2020, Figs 6-7

FIG6_SPARSITY = "increases from conv to FC (ANOVA p ≈ 0)"
FIG6_WITHIN = "increases towards the output (≤ ~0.2)"
FIG6_ACROSS = "negative in the last FC layer"
#: Plateau of the deconvolution-stimulus correlation (conv5-6), per sex (Fig 6G).
FIG6_DECONV_PLATEAU = {"M": 0.40, "F": 0.46}
FIG6_SIMILARITY = "rises to near-identical at the top"

#: Leave-one-out nearest-neighbour decoding of sex on the t-SNE map (Fig 7H), as fractions.
FIG7_KNN_ALL = 0.620
FIG7_KNN_CONFIDENT = 0.668
FIG7_CLUSTER = "a male cluster with almost no female calls, from all males"

# ------------------------------------------------------------------------ Santana & Dietrich 2024

#: Table 1: pixel accuracy (%) mean, SEM, Dice (x100) mean, SEM per model.
SQUEAKOUT_TABLE1 = {"null": (99.10, 0.02, 4.95, 0.74), "threshold": (98.83, 0.06, 63.82, 0.71),
                    "unet": (98.91, 0.04, 72.31, 0.83), "squeakout_noaug": (99.03, 0.02, 82.98, 0.65),
                    "squeakout": (99.84, 0.01, 90.22, 0.41)}
SQUEAKOUT_PARAMETERS = "4.6 M"
SQUEAKOUT_INFERENCE = "< 0.035 s GPU (512×512); ~8 s CPU"
