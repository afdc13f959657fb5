"""A model's parameters as one flat vector theta, and back: the coordinates of configuration space."""

import torch


def flat_params(model):
    """All parameters of ``model`` concatenated in ``named_parameters()`` order (a detached copy)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def unflatten(model, theta):
    """Split ``theta`` into a ``{name: tensor}`` dict shaped like ``model``'s parameters (views, no copy)."""
    size = n_parameters(model)
    if theta.numel() != size:
        raise ValueError(f"theta has {theta.numel()} entries; the model has {size} parameters")
    out, start = {}, 0
    for name, p in model.named_parameters():
        out[name] = theta[start:start + p.numel()].view_as(p)
        start += p.numel()
    return out


def n_parameters(model, trainable=False):
    """Number of parameters of ``model`` (only those with ``requires_grad`` when ``trainable``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)
