"""Random d-dimensional subspaces of configuration space, as D x d matrices M of directions.

The Goldilocks paper (notebook 03) restricts the Hessian to theta = P + M x and trains x
alone (``companion.nn.HyperplaneModel``). Two kinds of M are in use, and results should
record which one they used:

- "orthonormal": the Q factor of a seeded Gaussian matrix; columns exactly orthonormal
  and uniformly (Haar) distributed.
- "sparse": the sparse random +-1 matrix of the intrinsic-dimension and Goldilocks
  reproductions, columns normalised to unit length. Columns are only approximately
  orthogonal: inner products between two columns are typically of size 1/sqrt(D), as for
  independent Gaussian directions, whatever the density.
"""

import torch

KINDS = ("orthonormal", "sparse")


def _check_args(D, d, kind, density):
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not allowed; choose one of {list(KINDS)}")
    if not (isinstance(D, int) and D >= 1):
        raise ValueError(f"D={D!r} must be a positive integer (the number of parameters)")
    if not (isinstance(d, int) and 1 <= d <= D):
        raise ValueError(f"d={d!r} must be an integer between 1 and D={D}")
    if density is not None:
        if kind != "sparse":
            raise ValueError(f"density={density!r} applies only to kind='sparse'")
        if not 0 < density <= 1:
            raise ValueError(f"density={density!r} must be in (0, 1]")


def _orthonormal(D, d, gen):
    """Haar-distributed orthonormal columns: QR of a Gaussian matrix, with R's diagonal made positive."""
    Q, R = torch.linalg.qr(torch.randn(D, d, generator=gen, dtype=torch.float64))
    return Q * torch.sign(torch.diagonal(R))


def _sparse(D, d, density, gen):
    """Entries +-1 with probability ``density`` (else 0), at least one per column, columns of unit norm."""
    mask = torch.rand(D, d, generator=gen, dtype=torch.float64) < density
    empty = ~mask.any(dim=0)
    rows = torch.randint(D, (d,), generator=gen)
    mask[rows[empty], torch.arange(d)[empty]] = True
    signs = torch.randint(2, (D, d), generator=gen, dtype=torch.float64) * 2 - 1
    M = mask * signs
    return M / M.norm(dim=0)


def random_subspace(D, d, kind="orthonormal", seed=0, density=None, dtype=torch.float32):
    """A seeded random D x d matrix whose columns span a random d-dimensional subspace of R^D.

    ``kind``: "orthonormal" (exactly orthonormal columns) or "sparse" (unit columns with
    about ``density`` x D non-zero +-1 entries each, at least one; density defaults to
    1/sqrt(D), the very sparse random projection used by Li et al.'s intrinsic dimension;
    columns only approximately orthogonal). The same (D, d, kind, seed, density) always
    gives the same matrix; the global RNG is never touched.
    """
    _check_args(D, d, kind, density)
    gen = torch.Generator().manual_seed(int(seed))
    if kind == "orthonormal":
        M = _orthonormal(D, d, gen)
    else:
        M = _sparse(D, d, D ** -0.5 if density is None else density, gen)
    return M.to(dtype)
