"""Curvature of the training loss: Hessian-vector products, dense and subspace Hessians, Lanczos.

Everything goes through a :class:`HessianOperator`, which turns a direction ``v`` of
configuration space (all parameters, flattened in ``named_parameters()`` order, as
``companion.nn.flat_params``) into ``H v`` without ever forming ``H``. The Goldilocks
notebook (03) projects it onto random subspaces (:func:`subspace_hessian`) and reads off
:func:`trace_ratio` and :func:`positive_fraction`; the top of the spectrum comes from
:func:`lanczos`. Every routine is checked against the dense Hessian in
``tests/test_curvature.py``.

One Hessian-vector product (HVP) costs about two gradient evaluations. On a 64-32-32-10 MLP
with 1,500 digits (float64, one thread), double backward through a gradient graph kept
between calls took 1.6-1.9 ms per HVP, against 2.8-3.4 ms rebuilding that graph each call
and 4.4-5.1 ms for forward-over-reverse (``jvp`` of ``grad``). For 20 columns at once a loop
of kept-graph products took 32 ms, vmapped forward-over-reverse 50 ms and batched double
backward (``is_grads_batched``) 43 ms. So :meth:`HessianOperator.matvec` keeps the graph and
:meth:`HessianOperator.matmat` loops over columns, which also bounds memory to one column.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call

from companion.nn.flat import flat_params, unflatten
from companion.nn.modes import in_mode


def _mse(output, target):
    """Mean squared error, written out: F.mse_loss breaks forward-over-reverse AD (pytorch/pytorch#123996)."""
    return (output - target).square().mean()


LOSSES = {"cross_entropy": F.cross_entropy, "mse": _mse}


class MatrixOperator:
    """A symmetric matrix, or any function v -> A v, as an operator for :func:`lanczos` and this module.

    ``MatrixOperator(A)`` for an explicit (D, D) matrix; ``MatrixOperator(fn, dim=D, dtype=...)``
    for a function. Counts its products in ``n_matvecs``.
    """

    def __init__(self, matrix_or_fn, dim=None, dtype=torch.float64, device="cpu"):
        if callable(matrix_or_fn):
            if dim is None:
                raise ValueError("a function operator needs dim= (the length of the vectors it maps)")
            self._fn, self.dim = matrix_or_fn, int(dim)
            self.params = torch.empty(0, dtype=dtype, device=device)
        else:
            A = torch.as_tensor(matrix_or_fn)
            if A.dim() != 2 or A.shape[0] != A.shape[1]:
                raise ValueError(f"expected a square matrix, got shape {tuple(A.shape)}")
            self._fn, self.dim = (lambda v: A @ v), A.shape[0]
            self.params = torch.empty(0, dtype=A.dtype, device=A.device)
        self.n_matvecs = 0

    def matvec(self, v):
        self.n_matvecs += 1
        return self._fn(v)

    def matmat(self, V):
        """The operator times V (D, k), one :meth:`matvec` per column."""
        return torch.stack([self.matvec(v) for v in V.T], dim=1)


class HessianOperator:
    """Hessian of the mean loss of ``model`` on (X, y) w.r.t. all its parameters, flattened in named_parameters() order.

    The operator is frozen at the parameters ``model`` has when it is built (``params``, a
    detached copy); later changes to ``model`` do not move it. The model is evaluated in its own
    dtype, in eval mode (running batch-norm statistics held fixed), or with ``train_mode`` as SGD
    sees it: (X, y) taken as one training batch whose batch-norm statistics are differentiated
    through, the running statistics never updated (each evaluation gets fresh copies of the
    buffers). Without batch norm or dropout the two are the same. ``loss`` is ``"cross_entropy"`` (y: class indices) or
    ``"mse"`` (y: targets shaped like the output), both averaged over everything.

    :meth:`matvec` keeps the gradient's autograd graph (about one backward pass worth of
    activations) alive for as long as the operator lives, so that each further product is a
    single backward pass.
    """

    def __init__(self, model, X, y, loss="cross_entropy", train_mode=False):
        if loss not in LOSSES:
            raise ValueError(f"loss={loss!r} is not allowed; choose one of {sorted(LOSSES)}")
        self.model, self.X, self.y = model, X, y
        self.params = flat_params(model)
        self.dim = self.params.numel()
        self.n_matvecs = 0
        self._loss_fn = LOSSES[loss]
        self._buffers = dict(model.named_buffers())
        self.train_mode = bool(train_mode)
        self._graph = None  # (theta leaf, gradient with its graph), built by the first matvec

    def _f(self, theta):
        """Mean loss at the flat parameter vector ``theta``; differentiable by autograd and torch.func."""
        buffers = {name: b.clone() for name, b in self._buffers.items()} if self.train_mode else self._buffers
        with in_mode(self.model, self.train_mode):
            out = functional_call(self.model, (unflatten(self.model, theta), buffers), (self.X,))
        return self._loss_fn(out, self.y)

    def _as_columns(self, V, ndim):
        """``V`` in the operator's dtype and device, after checking it has D rows and ``ndim`` dimensions."""
        if V.dim() != ndim or V.shape[0] != self.dim:
            want = f"({self.dim},)" if ndim == 1 else f"({self.dim}, k)"
            raise ValueError(f"expected a tensor of shape {want}, got {tuple(V.shape)}")
        return V.to(self.params)

    def loss(self, theta=None):
        """Mean loss at ``theta`` (default: at ``params``)."""
        with torch.no_grad():
            return self._f(self.params if theta is None else theta.to(self.params)).item()

    def _gradient_graph(self):
        if self._graph is None:
            theta = self.params.clone().requires_grad_(True)
            with torch.enable_grad():
                (g,) = torch.autograd.grad(self._f(theta), theta, create_graph=True)
            self._graph = (theta, g)
        return self._graph

    def matvec(self, v):
        """H v, one HVP: double backward through the kept gradient graph."""
        v = self._as_columns(v, 1)
        theta, g = self._gradient_graph()
        (hv,) = torch.autograd.grad(g, theta, v, retain_graph=True)
        self.n_matvecs += 1
        return hv

    def matmat(self, V):
        """H V for V of shape (D, k): one :meth:`matvec` per column (the fastest measured on CPU)."""
        V = self._as_columns(V, 2)
        return torch.stack([self.matvec(v) for v in V.T], dim=1)


def _symmetrise(A):
    return (A + A.T) / 2


def dense_hessian(op):
    """The full D x D Hessian, symmetrised; D HVPs and D^2 memory, so for small models only."""
    eye = torch.eye(op.dim, dtype=op.params.dtype, device=op.params.device)
    return _symmetrise(op.matmat(eye))


def subspace_hessian(op, M):
    """M^T H M (d x d), symmetrised: the Hessian restricted to the span of M's columns (D x d); d HVPs."""
    if M.dim() != 2 or M.shape[0] != op.dim:
        raise ValueError(f"M must have shape ({op.dim}, d), got {tuple(M.shape)}")
    M = M.to(op.params)
    return _symmetrise(M.T @ op.matmat(M))


@dataclass(frozen=True)
class LanczosResult:
    """Ritz pairs from :func:`lanczos`.

    eigenvalues: (k,) float64, ordered as ``which`` ranks them (descending value for "LA",
    descending magnitude for "LM"). eigenvectors: (D, k) unit Ritz vectors, in the
    operator's dtype. residuals: (k,) float64 estimates of ||H v - l v|| (exact in exact
    arithmetic); small residuals mean converged pairs. n_matvecs: HVPs used. n_iter: Lanczos
    steps taken (the Krylov basis size). tridiagonal: the Lanczos matrix T, whose eigenpairs give the
    Gauss quadrature of the start vector's spectral measure (stochastic Lanczos quadrature).
    """

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor
    residuals: torch.Tensor
    n_matvecs: int
    n_iter: int
    tridiagonal: torch.Tensor  # (n_iter, n_iter) float64 Lanczos matrix T (for quadrature: SLQ)


def _default_n_iter(D, k):
    """Krylov steps used when none are given: min(D, max(2k + 20, 3k)).

    With full reorthogonalisation this resolves the top k of a network Hessian (a few
    outliers above a bulk) to many digits; check ``residuals`` and raise n_iter if not.
    """
    return min(D, max(2 * k + 20, 3 * k))


def _check_lanczos_args(D, k, n_iter, which):
    if which not in ("LA", "LM"):
        raise ValueError(f"which={which!r} is not allowed; choose 'LA' (largest algebraic) or 'LM' (largest magnitude)")
    if not 1 <= k <= D:
        raise ValueError(f"k={k!r} must be between 1 and the operator's dimension {D}")
    n_iter = _default_n_iter(D, k) if n_iter is None else n_iter
    if not k <= n_iter <= D:
        raise ValueError(f"n_iter={n_iter!r} must be between k={k} and the operator's dimension {D}")
    return n_iter


def _orthogonalise(w, Q):
    """w minus its projection on the orthonormal columns of Q: classical Gram-Schmidt, twice."""
    for _ in range(2):
        w = w - Q @ (Q.T @ w)
    return w


def lanczos(op, k, n_iter=None, seed=0, which="LA", v0=None):
    """Top-k eigenpairs of the symmetric operator ``op`` by Lanczos with full reorthogonalisation.

    ``op`` needs ``dim``, ``params`` (for dtype and device) and ``matvec``; one HVP per step.
    The start vector is ``v0`` (normalised here) when given, else Gaussian from ``seed``. ``which``: "LA" largest algebraic, "LM"
    largest magnitude. ``n_iter`` defaults to min(D, max(2k + 20, 3k)).

    Every new Lanczos vector is orthogonalised against all previous ones (classical
    Gram-Schmidt, twice), so the Ritz values stay free of spurious copies. When the residual
    vanishes (beta ~ 0, at most sqrt(D) eps times the largest ||H q|| seen) the Krylov
    space is invariant and its Ritz pairs are exact eigenpairs; since one start vector cannot
    see a repeated eigenvalue's other copies, nor eigenvectors it is orthogonal to, the
    iteration then restarts from a fresh seeded vector orthogonal to the basis (the decoupled
    block gets beta = 0; dropping a beta that small moves no eigenvalue by more than it),
    until ``n_iter`` steps are done. The tridiagonal eigenproblem is solved in float64.
    """
    D = op.dim
    n_iter = _check_lanczos_args(D, k, n_iter, which)
    dtype, device = op.params.dtype, op.params.device
    gen = torch.Generator().manual_seed(int(seed))

    def random_vector():
        return torch.randn(D, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)

    tol = D ** 0.5 * torch.finfo(dtype).eps
    Q = torch.zeros(D, n_iter, dtype=dtype, device=device)
    q = random_vector() if v0 is None else torch.as_tensor(v0).to(dtype=dtype, device=device)
    if v0 is not None and (q.shape != (D,) or not q.norm() > 0):
        raise ValueError(f"v0 must be a non-zero vector of length {D}, got shape {tuple(q.shape)}")
    q = q / q.norm()
    alphas, betas, anorm = [], [], 0.0
    for j in range(n_iter):
        Q[:, j] = q
        w = op.matvec(q)
        anorm = max(anorm, w.norm().item())
        alphas.append(torch.dot(q, w).item())
        w = _orthogonalise(w, Q[:, : j + 1])
        beta = w.norm().item()
        if j == n_iter - 1:
            break
        if beta <= tol * anorm:  # invariant subspace: restart in its orthogonal complement
            beta = 0.0
            w = _orthogonalise(random_vector(), Q[:, : j + 1])
        betas.append(beta)
        q = w / w.norm()
    T = _tridiagonal(alphas, betas)
    theta, S = torch.linalg.eigh(T)
    key = theta if which == "LA" else theta.abs()
    idx = torch.argsort(key, descending=True, stable=True)[:k]
    return LanczosResult(
        eigenvalues=theta[idx],
        eigenvectors=Q @ S[:, idx].to(dtype=dtype, device=device),
        residuals=(beta * S[-1, idx]).abs(),
        n_matvecs=n_iter,
        n_iter=n_iter,
        tridiagonal=T,
    )


def _tridiagonal(alphas, betas):
    """The symmetric tridiagonal Lanczos matrix T, in float64."""
    off = torch.tensor(betas, dtype=torch.float64)
    return torch.diag(torch.tensor(alphas, dtype=torch.float64)) + torch.diag(off, 1) + torch.diag(off, -1)


def _as_eigenvalues(eigenvalues):
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    if lam.numel() == 0:
        raise ValueError("eigenvalues is empty")
    return lam


def trace_ratio(eigenvalues):
    """Tr(H)/||H||_F = sum(l) / sqrt(sum(l^2)) of a symmetric matrix given by its eigenvalues l.

    The Goldilocks paper's Tr(H)/||H|| with the Frobenius norm, as in its reproductions.
    For d eigenvalues it lies in [-sqrt(d), sqrt(d)]; sqrt(d) exactly when all are equal and
    positive, O(1) for a random symmetric (GOE-like) matrix. NaN for the zero matrix.
    """
    lam = _as_eigenvalues(eigenvalues)
    norm = lam.square().sum().sqrt()
    return float("nan") if norm == 0 else (lam.sum() / norm).item()


def positive_fraction(eigenvalues):
    """Fraction of eigenvalues that are strictly positive (the Goldilocks paper's excess of positive curvature)."""
    return (_as_eigenvalues(eigenvalues) > 0).double().mean().item()
