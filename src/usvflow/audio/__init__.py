"""Audio: reading recordings and turning them into spectrograms (stage 1).

``io``
    streaming WAV reading with the checks a lab needs (:func:`~usvflow.audio.io.iter_chunks`,
    :func:`~usvflow.audio.io.read_wav`, :func:`~usvflow.audio.io.inspect_wav`, :func:`~usvflow.audio.io.write_wav`).
``samples``
    a sample sheet built from a folder of WAVs (file-name pattern, metadata table), checked as the workflow
    checks it (``usvflow samples``).
``stft``
    the one STFT module: window and hop sizes in seconds, the periodic Hann window, the full-scale
    reference, the reference spectrogram and the fast paths of the features and the detector.
"""
