"""Model builders: MLPs and small CNNs with a named initialisation scaled by ``init_scale``.

Every weight and bias is drawn from a seeded generator, so a (seed, init, init_scale)
triple names one point of configuration space. Scaling every parameter by ``init_scale``
scales the configuration-space radius ``||theta||`` by exactly that factor, which is how
the Goldilocks notebook sweeps the radius.
"""

import math

import torch
from torch import nn

INITS = ("torch", "xavier", "lecun", "kaiming")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "linear": nn.Identity}


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {sorted(allowed)}")


def _init_layer(layer, init, scale, gen):
    """Draw one Linear/Conv2d layer's weights (and bias) from ``init``, times ``scale``."""
    w = layer.weight
    fan_in = w[0].numel()
    fan_out = w.shape[0] * w[0, 0].numel() if w.dim() > 2 else w.shape[0]
    with torch.no_grad():
        if init == "torch":  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b
            bound = 1.0 / math.sqrt(fan_in)
            w.copy_(torch.rand(w.shape, generator=gen, dtype=w.dtype) * 2 * bound - bound)
            if layer.bias is not None:
                layer.bias.copy_(torch.rand(layer.bias.shape, generator=gen, dtype=w.dtype) * 2 * bound - bound)
        else:
            var = {"xavier": 2.0 / (fan_in + fan_out), "lecun": 1.0 / fan_in, "kaiming": 2.0 / fan_in}[init]
            w.copy_(torch.randn(w.shape, generator=gen, dtype=w.dtype) * math.sqrt(var))
            if layer.bias is not None:
                layer.bias.zero_()
        w.mul_(scale)
        if layer.bias is not None:
            layer.bias.mul_(scale)


def _initialise(model, init, init_scale, seed):
    _check_choice("init", init, INITS)
    if not init_scale > 0:
        raise ValueError(f"init_scale={init_scale!r} must be > 0")
    gen = torch.Generator().manual_seed(int(seed))
    for layer in model.modules():
        if isinstance(layer, (nn.Linear, nn.Conv2d)):
            _init_layer(layer, init, init_scale, gen)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):  # weight 1 and bias 0, times the scale
            with torch.no_grad():
                layer.weight.fill_(init_scale)
                layer.bias.zero_()
    return model


def mlp(in_features, widths, n_classes, activation="relu", init="torch", init_scale=1.0, seed=0,
        dtype=torch.float32, batch_norm=False):
    """Fully connected network ``in_features -> widths... -> n_classes``; flattens its input.

    ``batch_norm`` puts a BatchNorm1d between each hidden linear layer and its activation.
    """
    _check_choice("activation", activation, ACTIVATIONS)
    layers, prev = [nn.Flatten()], int(in_features)
    for width in widths:
        layers += [nn.Linear(prev, int(width)), *([nn.BatchNorm1d(int(width))] if batch_norm else []),
                   ACTIVATIONS[activation]()]
        prev = int(width)
    layers.append(nn.Linear(prev, int(n_classes)))
    return _initialise(nn.Sequential(*layers).to(dtype), init, init_scale, seed)


def cnn(in_shape, channels, n_classes, activation="relu", init="torch", init_scale=1.0, seed=0,
        dtype=torch.float32, batch_norm=False):
    """Small CNN: per entry of ``channels`` a 3x3 conv, the activation and 2x2 max-pooling, then a linear head.

    ``batch_norm`` puts a BatchNorm2d between each conv and its activation (SimpleCNN-BN of the
    break-even paper).
    """
    _check_choice("activation", activation, ACTIVATIONS)
    c, h, w = in_shape
    layers = []
    for out in channels:
        layers += [nn.Conv2d(c, int(out), 3, padding=1), *([nn.BatchNorm2d(int(out))] if batch_norm else []),
                   ACTIVATIONS[activation](), nn.MaxPool2d(2)]
        c, h, w = int(out), h // 2, w // 2
    layers += [nn.Flatten(), nn.Linear(c * h * w, int(n_classes))]
    return _initialise(nn.Sequential(*layers).to(dtype), init, init_scale, seed)
