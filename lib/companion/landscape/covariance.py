"""The gradient covariance K and its spectrum through the L x L Gram matrix (never the D x D one).

The break-even paper (Jastrzebski et al., arXiv:2002.09572, Appendix C) describes the noise
of SGD by the covariance of L gradients g_1..g_L in R^D: mini-batch gradients (what the
paper uses, and what :func:`minibatch_gradients` computes, one backward pass per batch) or
per-example gradients (any (L, D) tensor will do). The normalisation used here is

    K = (1/L) sum_i (g_i - g_bar)(g_i - g_bar)^T,    g_bar = (1/L) sum_i g_i,

centred and divided by L (not L - 1: a third-party implementation of Appendix C uses
1/(L - 1), which scales lambda_max(K) and Tr(K) by L/(L - 1) and leaves the inverse
condition number unchanged). K of mini-batch gradients of size B is about K of
per-example gradients divided by B, so compare only numbers computed with the same B.

The Gram trick. Stack the centred gradients as the rows of C (L x D). Then
K = C^T C / L (D x D) and the Gram matrix C C^T / L (L x L) have the same non-zero
eigenvalues, with the same multiplicities (C^T C v = l v, l != 0, gives C C^T (C v) = l C v
with C v != 0, and back). So K's whole non-zero spectrum costs an L x L eigenproblem:
O(L^2 D) to form the Gram matrix and O(L^3) to diagonalise it. Centring removes one
direction (the all-ones vector is in the Gram matrix's null space), so K has at most
min(L - 1, D) non-zero eigenvalues.

"Non-zero" is decided with a relative tolerance: an eigenvalue counts when it exceeds
``rtol * lambda_max`` with ``rtol = 1e-9`` by default. The Gram matrix is formed and
diagonalised in float64, whose round-off leaves exact zeros at about L * 1e-16 * lambda_max;
gradients computed in float32 that are equal in exact arithmetic differ by about 1e-7 of
their norm, giving spurious eigenvalues near 1e-14 * lambda_max. Both sit far below 1e-9,
while the smallest genuine eigenvalue of L = 25 network gradients is many orders above it
(8e-4 to 8e-2 of lambda_max in the default runs of notebook 10).
"""

from dataclasses import dataclass

import torch

from ..nn.modes import in_mode
from .curvature import LOSSES

RTOL = 1e-9


@dataclass(frozen=True)
class CovarianceSpectrum:
    """The non-zero spectrum of K = (1/L) sum (g_i - g_bar)(g_i - g_bar)^T and what the paper reads off it.

    eigenvalues: (r,) float64, K's non-zero eigenvalues in descending order (r <= min(L - 1, D)).
    lam_max: the spectral norm ||K||_2, the largest eigenvalue (0.0 when every gradient is equal).
    trace: Tr(K) = (1/L) sum ||g_i - g_bar||^2, all eigenvalues summed (the gradient variance).
    inv_cond: smallest non-zero over largest eigenvalue, in (0, 1]; NaN when K = 0.
    n_gradients: L. rtol: the relative tolerance that decided "non-zero".
    """

    eigenvalues: torch.Tensor
    lam_max: float
    trace: float
    inv_cond: float
    n_gradients: int
    rtol: float

    @property
    def rank(self):
        """The number of non-zero eigenvalues."""
        return int(self.eigenvalues.numel())


def _as_gradients(G):
    if not isinstance(G, torch.Tensor) or G.dim() != 2 or G.shape[0] < 2:
        shape = tuple(G.shape) if isinstance(G, torch.Tensor) else type(G).__name__
        raise ValueError(f"gradients must be a tensor of shape (L, D) with L >= 2 rows, got {shape}")
    return G.to(torch.float64)


def centred(G):
    """The gradients (rows of G) minus their mean, in float64."""
    G = _as_gradients(G)
    return G - G.mean(dim=0, keepdim=True)


def gram(G):
    """The L x L Gram matrix C C^T / L of the centred gradients C: same non-zero spectrum as K."""
    C = centred(G)
    return (C @ C.T) / C.shape[0]


def dense_covariance(G):
    """The explicit D x D covariance K = C^T C / L; D^2 memory, so for checks on small models only."""
    C = centred(G)
    return (C.T @ C) / C.shape[0]


def covariance_spectrum(G, rtol=RTOL):
    """K's non-zero spectrum, spectral norm, trace and inverse condition number from the (L, D) gradients G.

    Only the L x L Gram matrix is formed (float64); see the module docstring for why its
    eigenvalues are K's non-zero ones and for the tolerance ``rtol``.
    """
    if not 0 < rtol < 1:
        raise ValueError(f"rtol={rtol!r} must be in (0, 1)")
    A = gram(G)
    lam = torch.linalg.eigvalsh((A + A.T) / 2).flip(0)
    top = max(lam[0].item(), 0.0)
    nonzero = lam[lam > rtol * top] if top > 0 else lam[:0]
    return CovarianceSpectrum(
        eigenvalues=nonzero.cpu(),
        lam_max=top,
        trace=torch.trace(A).item(),
        inv_cond=(nonzero[-1] / top).item() if top > 0 else float("nan"),
        n_gradients=int(A.shape[0]),
        rtol=rtol,
    )


def minibatch_gradients(model, X, y, batches, loss="cross_entropy", train_mode=True):
    """One flat gradient of the mean loss per mini-batch: an (L, D) tensor, rows in ``batches`` order.

    ``batches`` is a sequence of L index tensors into (X, y). Each row is one backward pass of
    the loss on ``X[idx]``, flattened in ``named_parameters()`` order like
    ``companion.nn.flat_params``. ``train_mode=True`` evaluates the model as SGD sees it
    (batch-norm layers normalise with the batch's own statistics); the model's buffers
    (running statistics) and its train/eval modes are restored afterwards, so measuring
    does not move it. Its parameters' ``.grad`` are left untouched.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r} is not allowed; choose one of {sorted(LOSSES)}")
    batches = list(batches)
    if len(batches) < 2:
        raise ValueError(f"batches has {len(batches)} mini-batches; the covariance needs at least 2")
    loss_fn = LOSSES[loss]
    params = [q for q in model.parameters()]
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    rows = []
    try:
        with torch.enable_grad(), in_mode(model, train_mode):
            for idx in batches:
                out = model(X[idx])
                grads = torch.autograd.grad(loss_fn(out, y[idx]), params, allow_unused=True)
                rows.append(torch.cat([(torch.zeros_like(q) if g is None else g).reshape(-1)
                                       for q, g in zip(params, grads)]))
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(saved[name])
    return torch.stack(rows)


__all__ = ["RTOL", "CovarianceSpectrum", "centred", "covariance_spectrum", "dense_covariance", "gram",
           "minibatch_gradients"]
