"""Report: the papers' numbers beside this run's (stage 8).

``paper``
    the two papers' published numbers, in one place.
``stats``
    the papers' statistics (rank tests, Bonferroni, binomial tests against chance, mean ± SEM).
``summary``
    per-figure ``results/stats/*.json`` and ``figures/summary.md``.
``interpret``
    the Fig 6 and Fig 7 summary rows.
``tables``
    Tables 1-7: the networks and training protocols this run's settings build.
``provenance``
    what made a run's outputs: git commit, resolved-config and sample-sheet hashes, package versions
    (``importlib.metadata``, nothing imported: the workflow collects it at parse time), training device.
``claims``
    does the paper's sex claim hold on this run (``python -m usvflow.report.claims``)?
"""
