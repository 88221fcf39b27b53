"""Segment: SqueakOut (Santana & Dietrich 2024) against U-Net and a threshold baseline (stage 7).

``settings``
    the ``segment:`` settings of the active preset with their defaults (no torch).
``crops``
    spectrogram crops around calls; VocalMat-style threshold masks (the baseline).
``dataset``
    call and noise crops of a cohort with truth and threshold masks, split by animal; mask scores.
``refine``
    the paper's automated dataset refinement (autoencoder masks, erosion), scored against the truth.
``models``
    SqueakOut (MobileNetV2 encoder), U-Net, the null model; hybrid loss, Dice and pixel accuracy.
``augment``
    the paper's batch-wise stochastic augmentations, on any device.
``training``
    the training loop on the chosen device (a fixed budget of updates, plateau and early-stopping rules);
    prediction, inference and epoch timing.
``table``
    Table 1 over training seeds: mean ± SEM over seeds and over test images, paired tests.
``ffline``
    the FF line read inside a mask against the spectrogram peak, both against the truth.
"""
