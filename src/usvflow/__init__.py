"""usvflow: from raw ultrasonic mouse recordings to calls, features and emitter classifiers.

One subpackage per stage of the workflow, in the order data flows; a stage imports only the stages above it
(checked by ``tests/test_architecture.py``):

==============  ==========================================================================================
``errors``      :class:`~usvflow.errors.InputError`, the one exception for bad input (shared base)
``config``      validation of ``config.yaml`` (defaults filled in from ``schemas/``) and of sample sheets
``audio``       streaming WAV input/output and the one STFT module
``simulate``    the default simulated cohort with its ground truth, and its realism against real clips
``detect``      the two call detectors, their call images, exports and the detection benchmark
``features``    the cohort call tables, the paper's per-call features and vectors, embeddings
``classify``    tasks and folds (torch-free), the networks, their training, ridge and SVM baselines
``interpret``   inside the sex CNN (Fig 6) and the space of calls (Fig 7)
``segment``     SqueakOut and U-Net, crops and masks, the dataset refinement
``report``      the papers' published numbers, statistics, per-figure numbers, summary, claims, tables
``figures``     every plot (reads computed results only)
``workflow``    what Snakemake needs at parse time (no torch, scikit-learn, scipy) and the scripts' glue
``cli``         the ``usvflow`` command (``detect_cli``: ``usvflow detect``); may import every stage
==============  ==========================================================================================
"""

__version__ = "0.1.0"
