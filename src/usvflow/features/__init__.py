"""Features: from detections to the per-call tables every analysis reads (stage 4).

``dataset``
    one labelled call table + image stack per cohort, matched to a reference (simulator truth or a lab's
    annotations) for the six scored properties.
``columns``
    names of the features, properties and vectors (Ivanenko et al. 2020) and the settings' defaults; light.
``extract``
    the paper's per-call features: FF line, energy line, spectral marginal, 18 values, auto-scored properties.
``cohort``
    a cohort's feature table and vectors, row-aligned with its dataset table.
``recovery``
    features and properties against the simulator's truth.
``embed``
    PCA and openTSNE (3-D) of features and spectrograms (Fig 2J-M, Fig 7).
"""
