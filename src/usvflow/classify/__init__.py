"""Classify: the paper's networks and baselines, trained per fold (stage 5; Ivanenko et al. 2020, Methods).

Planning (no torch, no scikit-learn; the workflow builds its DAG from these):

``tasks``
    network tasks (sex, strain, individual, call properties), splits (leave-one-animal-out, random 10-fold),
    the folds a sample sheet allows (:func:`~usvflow.classify.tasks.plan_folds`), the settings per preset.
``classical_tasks``
    ridge / SVM tasks, labels and folds (:func:`~usvflow.classify.classical_tasks.plan_tasks`).

Training (torch / scikit-learn):

``models``
    the spectrogram CNN, the 9-feature DNN and the semi-convolutional DNN (Tables 1-3).
``inputs``
    input preparation, on-the-fly augmentation, training protocols (Tables 4-7).
``runtime``
    how a network runs: bf16 autocast or fp32, TF32, cuDNN autotuning, channels_last, torch.compile,
    determinism (``train.runtime``), and which GPU a job takes when several are present.
``training``
    the training loop (Adam, class-weighted cross-entropy, stages, learning curve), which waits for the
    device only at learning-curve records.
``folds``
    one fold end to end (:func:`~usvflow.classify.folds.run_fold`), with shuffled-label controls.
``classical``
    ridge regression and SVMs, leave-one-animal-out.

Tasks, splits and protocol in brief: labels sex M = 1 / F = 0, strain cortexless = 1 / WT = 0; a
``*_shuffled`` model trains on labels permuted across the training set (the control that must stay at
chance); CUDA when present, else CPU; seeds fixed so a fold reruns identically on the CPU (on CUDA with
``train.runtime.deterministic: true``).
"""
