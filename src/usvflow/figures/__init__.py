"""Figures: every plot of the workflow (stage 9). Plots read computed results only: redrawing never retrains.

``simulator``   simulated vs real calls (``figures/simulator_vs_real.pdf``)
``detection``   a recording's overview with its detections; the detection benchmark
``features``    Ivanenko et al. 2020 Figs 1-2
``models``      Figs 3-5, S1-S2 (and reading the folds' metrics and predictions)
``bars``        their bar-chart pieces (fold bars, per-animal bars, group legend, brackets)
``network``     Figs 6-7
``attribution`` per-recording accuracy against the number of calls (``figures/aggregation.pdf``)
``movie``       S1 Video (every 3-D panel of Fig 7 revolving)
``segment``     Santana & Dietrich 2024 Figs 3, 5, 6
``style``       one style for all: 7 pt minimum at the printed width, labels with units, colour bars, and the
                "SIMULATED data" tag (every plotting script gets it through ``workflow.script.script_main``)
``checks``      what a reviewer checks, by code (``audit(fig)``; used by tests/test_figures.py)
"""
