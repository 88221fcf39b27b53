"""usvflow: from raw ultrasonic mouse recordings to calls, features and emitter classifiers.

Modules: ``io`` (streaming WAV reading), ``simulate`` (the default simulated cohort), ``config``
(validation of config and sample sheets), ``spectrogram``, ``realism`` (simulated vs real calls),
``plots``; detection, features, models and statistics follow the workflow's stages.
"""

__version__ = "0.1.0"
