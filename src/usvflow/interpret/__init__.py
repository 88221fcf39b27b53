"""Interpret: inside the sex CNN and the space of calls (stage 6; Ivanenko et al. 2020, Fig 6, Fig 7, S1 Video).

``settings``
    the analyses' settings (plain dataclasses; the workflow reads them without torch).
``activations``
    per-layer activations, sparsity, within/across-sex pattern correlation (Fig 6A-D).
``deconv``
    deconvolution of a layer's activity back to the input, guided or deconvnet (Fig 6E-H).
``examples``
    Fig 6's example calls: the rule that picks a representative call per sex (numpy and pandas only).
``layers``
    one leave-one-animal-out fold analysed layer by layer; the per-layer summary and tests.
``callspace``
    the 3-D t-SNE map: densities, the sex-dominated cluster, nearest-neighbour decoding (Fig 7).
"""
