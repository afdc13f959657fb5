"""The geometry of the loss landscape: curvature (HVPs, Lanczos, spectra) and random subspaces."""

from .curvature import (
    HessianOperator,
    LanczosResult,
    MatrixOperator,
    dense_hessian,
    lanczos,
    positive_fraction,
    subspace_hessian,
    trace_ratio,
)
from .subspace import random_subspace

__all__ = ["HessianOperator", "LanczosResult", "MatrixOperator", "dense_hessian", "lanczos", "positive_fraction",
           "random_subspace", "subspace_hessian", "trace_ratio"]
