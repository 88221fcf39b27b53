"""Simulate: the default cohort of Avisoft-like recordings with complete ground truth (stage 2).

``plan``
    which recordings a preset asks for (:func:`~usvflow.simulate.plan.plan_cohorts`), the sample sheet, the
    truth tables' columns, each recording's nuisance quantiles stratified across groups; numpy and pandas only
    (the workflow plans with it).
``calls``
    animals (group effects and individual signatures), bout timing, call shapes, scored properties, synthesis.
``noise``
    microphone floor, movement noise, clicks, bursts, tonal bands.
``conditions``
    recording conditions: stretches of faint calls in broadband noise (raised floor, fades inside calls).
``recording``
    one recording end to end (:func:`~usvflow.simulate.recording.simulate_recording`), truth masks
    (:func:`~usvflow.simulate.recording.render_mask`), files and whole cohorts.
``realism``
    simulated against real calls, measured alike (``figures/simulator_vs_real.pdf``).

The generative model and its literature ranges: ``docs/simulator.md``.
"""
