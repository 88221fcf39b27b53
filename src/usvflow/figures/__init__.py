"""Figures: every plot of the workflow (stage 9). Plots read computed results only: redrawing never retrains.

``simulator``   simulated vs real calls (``figures/simulator_vs_real.pdf``)
``detection``   a recording's overview with its detections; the detection benchmark
``features``    Ivanenko et al. 2020 Figs 1-2
``models``      Figs 3-5, S1-S2 (and reading the folds' metrics and predictions)
``network``     Figs 6-7 and S1 Video
``segment``     Santana & Dietrich 2024 Figs 3, 5, 6
"""
