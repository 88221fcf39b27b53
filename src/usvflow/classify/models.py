"""The networks of Ivanenko et al. 2020, in torch.

Three architectures (the paper's Tables 1–3 are not in the published text; the layer pattern is from the
Methods, the sizes are ours and configurable):

* :class:`SpectrogramCNN` — "Spectrogram-to-Sex" and its siblings (strain, individual, the four
  properties, has-break): 6 convolutional + 3 fully connected layers, batch normalisation on every hidden
  layer, ReLU, dropout in the fully connected part, a sigmoid (one output) or softmax (several) read-out.
* :class:`FeatureDNN` — "Features-to-Sex": 4 fully connected layers on the 9 basic features.
* :class:`SemiConvDNN` — "Extended features-to-Sex": three parallel 5-layer 1-D convolutional stacks (FF
  line, time marginal, spectral marginal) whose outputs join the 24 single-value features in a 3-layer fully
  connected head.

Every network returns logits (one column for a binary task, whose sigmoid is P(class 1); K columns for K
classes, whose softmax gives the probabilities). All weights start from Xavier (Glorot) uniform
initialisation, biases from zero, as in the paper.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import nn

__all__ = ["CNNConfig", "DNN9Config", "SemiConvConfig", "SpectrogramCNN", "FeatureDNN", "SemiConvDNN",
           "build_model", "describe_layers", "count_parameters", "xavier_init", "load_model", "save_model"]


@dataclass(frozen=True)
class CNNConfig:
    """Sizes of :class:`SpectrogramCNN`. ``input_size``: side of the (square) image fed to the network;
    the 100×100 call images are average-pooled to it (100 keeps the paper's resolution)."""

    input_size: int = 50
    channels: tuple[int, ...] = (16, 16, 32, 32, 48, 48)
    kernels: tuple[int, ...] = (3, 3, 3, 3, 3, 3)
    strides: tuple[int, ...] = (1, 2, 1, 2, 1, 2)
    fc: tuple[int, ...] = (64, 32)
    dropout: float = 0.5
    global_pool: bool = False

    def __post_init__(self) -> None:
        if not (len(self.channels) == len(self.kernels) == len(self.strides) == 6):
            raise ValueError("the spectrogram CNN has 6 convolutional layers: channels, kernels and strides need 6 "
                             f"entries each (got {len(self.channels)}, {len(self.kernels)}, {len(self.strides)})")
        if len(self.fc) != 2:
            raise ValueError(f"the spectrogram CNN has 3 fully connected layers: fc lists the 2 hidden ones (got {self.fc})")
        if self.input_size < 1 or 100 % self.input_size:
            raise ValueError(f"input_size must divide 100 (the call images are 100×100), got {self.input_size}")


@dataclass(frozen=True)
class DNN9Config:
    """Sizes of :class:`FeatureDNN`: 3 hidden fully connected layers + the output layer."""

    n_features: int = 9
    hidden: tuple[int, ...] = (64, 32, 16)
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if len(self.hidden) != 3:
            raise ValueError(f"the feature DNN has 4 fully connected layers: hidden lists the first 3 (got {self.hidden})")


@dataclass(frozen=True)
class SemiConvConfig:
    """Sizes of :class:`SemiConvDNN`. ``vector_lengths``: FF line, time marginal, spectral marginal."""

    n_features: int = 24
    vector_lengths: tuple[int, int, int] = (100, 100, 233)
    channels: tuple[int, ...] = (8, 8, 16, 16, 16)
    kernels: tuple[int, ...] = (5, 5, 3, 3, 3)
    strides: tuple[int, ...] = (1, 2, 1, 2, 2)
    fc: tuple[int, ...] = (64, 32)
    dropout: float = 0.3

    def __post_init__(self) -> None:
        if not (len(self.channels) == len(self.kernels) == len(self.strides) == 5):
            raise ValueError("each 1-D stack of the semi-convolutional DNN has 5 layers: channels, kernels and "
                             "strides need 5 entries each")
        if len(self.fc) != 2:
            raise ValueError(f"the semi-convolutional head has 3 fully connected layers: fc lists the 2 hidden ones (got {self.fc})")


def _from_dict(cls: type, values: dict[str, Any] | None) -> Any:
    """A config dataclass from a (YAML) dict: lists become tuples, unknown keys are refused."""
    values = dict(values or {})
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} setting(s): {sorted(unknown)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for every convolution and linear layer (paper's Methods);
    batch-norm layers start as the identity."""
    for m in module.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _fc_block(n_in: int, n_out: int, dropout: float) -> nn.Sequential:
    # Batch norm makes the linear bias redundant; dropout after the non-linearity.
    return nn.Sequential(nn.Linear(n_in, n_out, bias=False), nn.BatchNorm1d(n_out), nn.ReLU(inplace=True),
                         nn.Dropout(dropout))


class SpectrogramCNN(nn.Module):
    """6 conv + 3 FC layers on a (batch, 1, S, S) image in [0, 1]; returns logits (batch, n_out)."""

    def __init__(self, n_classes: int, config: CNNConfig = CNNConfig()) -> None:
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        layers: list[nn.Module] = []
        c_in, side = 1, config.input_size
        for c_out, k, s in zip(config.channels, config.kernels, config.strides):
            layers.append(nn.Sequential(nn.Conv2d(c_in, c_out, k, stride=s, padding=k // 2, bias=False),
                                        nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)))
            c_in, side = c_out, (side + 2 * (k // 2) - k) // s + 1
        self.conv = nn.ModuleList(layers)
        # global_pool: average each feature map before the FC layers (fewer weights than flattening).
        self.flat_size = c_in if config.global_pool else c_in * side * side
        self.fc = nn.ModuleList([_fc_block(self.flat_size, config.fc[0], config.dropout),
                                 _fc_block(config.fc[0], config.fc[1], config.dropout)])
        self.out = nn.Linear(config.fc[1], 1 if n_classes == 2 else n_classes)
        xavier_init(self)

    def forward(self, x: torch.Tensor, return_activations: bool = False) -> Any:
        """Logits; with ``return_activations`` also the output of every hidden layer (for Fig 6)."""
        acts = []
        for layer in self.conv:
            x = layer(x)
            acts.append(x)
        x = x.mean(dim=(2, 3)) if self.config.global_pool else x.flatten(1)
        for layer in self.fc:
            x = layer(x)
            acts.append(x)
        logits = self.out(x)
        return (logits, acts) if return_activations else logits

    def set_dropout(self, p: float) -> None:
        """Change the dropout rate (the staged protocol's stages differ in it)."""
        for m in self.modules():
            if isinstance(m, nn.Dropout):
                m.p = p


class FeatureDNN(nn.Module):
    """4 fully connected layers on standardised feature vectors (batch, n_features)."""

    def __init__(self, n_classes: int, config: DNN9Config = DNN9Config()) -> None:
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        sizes = (config.n_features, *config.hidden)
        self.fc = nn.ModuleList([_fc_block(a, b, config.dropout) for a, b in zip(sizes[:-1], sizes[1:])])
        self.out = nn.Linear(sizes[-1], 1 if n_classes == 2 else n_classes)
        xavier_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.fc:
            x = layer(x)
        return self.out(x)

    set_dropout = SpectrogramCNN.set_dropout


class _Conv1dStack(nn.Sequential):
    """5 conv layers with batch norm and ReLU on a (batch, 1, L) vector, flattened at the end."""

    def __init__(self, length: int, config: SemiConvConfig) -> None:
        layers: list[nn.Module] = []
        c_in = 1
        for c_out, k, s in zip(config.channels, config.kernels, config.strides):
            layers += [nn.Conv1d(c_in, c_out, k, stride=s, padding=k // 2, bias=False), nn.BatchNorm1d(c_out),
                       nn.ReLU(inplace=True)]
            c_in, length = c_out, (length + 2 * (k // 2) - k) // s + 1
        layers.append(nn.Flatten(1))
        super().__init__(*layers)
        self.out_size = c_in * length


class SemiConvDNN(nn.Module):
    """Three 1-D conv stacks + the single-value features → 3 fully connected layers.

    ``forward(features, ff_line, time_marginal, spectral_marginal)``: (batch, n_features) and
    (batch, L_i) tensors, scaled to about [0, 1] by :mod:`usvflow.classify.folds`.
    """

    def __init__(self, n_classes: int, config: SemiConvConfig = SemiConvConfig()) -> None:
        super().__init__()
        self.config = config
        self.n_classes = n_classes
        self.stacks = nn.ModuleList([_Conv1dStack(n, config) for n in config.vector_lengths])
        n_in = config.n_features + sum(s.out_size for s in self.stacks)
        self.fc = nn.ModuleList([_fc_block(n_in, config.fc[0], config.dropout),
                                 _fc_block(config.fc[0], config.fc[1], config.dropout)])
        self.out = nn.Linear(config.fc[1], 1 if n_classes == 2 else n_classes)
        xavier_init(self)

    def forward(self, features: torch.Tensor, *vectors: torch.Tensor) -> torch.Tensor:
        parts = [features] + [stack(v.unsqueeze(1)) for stack, v in zip(self.stacks, vectors)]
        x = torch.cat(parts, dim=1)
        for layer in self.fc:
            x = layer(x)
        return self.out(x)

    set_dropout = SpectrogramCNN.set_dropout


ARCHITECTURES = {"cnn": (SpectrogramCNN, CNNConfig), "dnn9": (FeatureDNN, DNN9Config),
                 "semiconv": (SemiConvDNN, SemiConvConfig)}


def build_model(family: str, n_classes: int, config: dict[str, Any] | None = None) -> nn.Module:
    """A fresh, Xavier-initialised network. ``family``: cnn, dnn9 or semiconv; ``config``: its sizes."""
    if family not in ARCHITECTURES:
        raise ValueError(f"unknown model family {family!r}; choose from {sorted(ARCHITECTURES)}")
    if n_classes < 2:
        raise ValueError(f"a classifier needs at least 2 classes, got {n_classes}")
    cls, cfg_cls = ARCHITECTURES[family]
    return cls(n_classes, _from_dict(cfg_cls, config))


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def example_inputs(model: nn.Module, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Zero inputs of the right shapes for ``model`` (for tracing shapes and tables)."""
    if isinstance(model, SpectrogramCNN):
        s = model.config.input_size
        return (torch.zeros(batch, 1, s, s),)
    if isinstance(model, FeatureDNN):
        return (torch.zeros(batch, model.config.n_features),)
    if isinstance(model, SemiConvDNN):
        return (torch.zeros(batch, model.config.n_features),
                *[torch.zeros(batch, n) for n in model.config.vector_lengths])
    raise TypeError(f"not a usvflow network: {type(model).__name__}")


def describe_layers(model: nn.Module) -> list[dict[str, Any]]:
    """One row per layer with parameters (conv, linear, batch norm): the architecture tables 1–3.

    Rows: ``block`` (where in the network), ``layer`` (type), ``kernel``, ``stride``, ``units`` (output
    channels/units), ``output_shape`` (per example) and ``parameters``.
    """
    rows: list[dict[str, Any]] = []
    hooks = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module: nn.Module, _inp: Any, out: torch.Tensor) -> None:
        kernel = stride = ""
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            kernel = "×".join(map(str, module.kernel_size))
            stride = "×".join(map(str, module.stride))
        units = getattr(module, "out_channels", getattr(module, "out_features", getattr(module, "num_features", "")))
        rows.append({"block": names[module], "layer": type(module).__name__, "kernel": kernel, "stride": stride,
                     "units": units, "output_shape": "×".join(map(str, out.shape[1:])),
                     "parameters": sum(p.numel() for p in module.parameters(recurse=False))})

    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.Dropout)):
            hooks.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(*example_inputs(model))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return rows


def save_model(path: str, model: nn.Module, family: str, extra: dict[str, Any] | None = None) -> None:
    """Weights + everything needed to rebuild the network (family, classes, sizes) in one file."""
    torch.save({"family": family, "n_classes": model.n_classes, "config": dataclasses.asdict(model.config),
                "state_dict": model.state_dict(), "extra": extra or {}}, path)


def load_model(path: str, map_location: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a network saved by :func:`save_model`, in eval mode; returns (model, extra)."""
    blob = torch.load(path, map_location=map_location, weights_only=True)
    model = build_model(blob["family"], blob["n_classes"], blob["config"])
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, blob["extra"]


def layer_names(model: nn.Module) -> Sequence[str]:
    """Names of the hidden layers whose outputs ``SpectrogramCNN.forward(return_activations=True)`` returns."""
    if not isinstance(model, SpectrogramCNN):
        raise TypeError("activations are exposed by the spectrogram CNN only")
    return [f"conv{i + 1}" for i in range(len(model.conv))] + [f"fc{i + 1}" for i in range(len(model.fc))]
