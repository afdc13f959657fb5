"""Training confined to a random affine subspace: theta(x) = P + M x, only x is trained.

This is the random-hyperplane method of Li et al. (intrinsic dimension) used by the
Goldilocks paper: P is the offset (an initialisation at some radius), M a D x d matrix
of (near-)orthonormal directions, x starts at 0 so training starts at P.
"""

import torch
from torch import nn
from torch.func import functional_call

from .flat import unflatten


class HyperplaneModel(nn.Module):
    """Wraps ``base`` so that its parameters are ``P + M x`` with ``x`` the only trainable tensor."""

    def __init__(self, base, offset, directions):
        super().__init__()
        if directions.shape[0] != offset.numel():
            raise ValueError(f"directions has {directions.shape[0]} rows; the model has {offset.numel()} parameters")
        self.base = base.requires_grad_(False)
        self.register_buffer("offset", offset.detach().clone())
        self.register_buffer("directions", directions.detach().to(offset.dtype))
        self.x = nn.Parameter(torch.zeros(directions.shape[1], dtype=offset.dtype))

    def theta(self):
        """The point of configuration space the model sits at now."""
        return self.offset + self.directions @ self.x

    def forward(self, inputs):
        return functional_call(self.base, unflatten(self.base, self.theta()), (inputs,))


class HypersphereModel(HyperplaneModel):
    """The hyperplane through ``P`` pushed radially onto the sphere of radius ``||P||``:
    theta(x) = ||P|| (P + M x) / ||P + M x||, so training never leaves the offset's radius."""

    def theta(self):
        point = super().theta()
        return point * (self.offset.norm() / point.norm())
