"""The whole spectrum of a symmetric operator from matrix-vector products: density, trace, eigenspace overlaps.

Notebook 08 (Fort & Ganguli, arXiv:1910.05929) needs more than the top of the Hessian
spectrum that :func:`companion.landscape.lanczos` gives:

- :func:`slq`: the spectral density by stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017).
  Each probe v (unit norm) gives the Gauss quadrature of its spectral measure
  mu_v = sum_i (v . u_i)^2 delta(lambda_i): nodes are the Ritz values of m Lanczos steps
  from v, weights the squared first components of the tridiagonal's eigenvectors. It is
  exact for polynomials up to degree 2m - 1, so the quadrature's k-th moment equals
  v^T H^k v to rounding for k <= 2m - 1, and its weights sum to 1. Averaged over probes
  with E[v v^T] = I / D, the k-th moment estimates tr(H^k) / D.
- :func:`hutchinson` and :func:`hutchpp`: the trace, each with its standard error.
- :func:`overlap`, :func:`top_eigenspace_overlap`, :func:`subspace_alignment`: how much of
  a vector (the gradient) or of a subspace lies in the top-k eigenspace.
- :func:`outlier_count`: the number of outliers read off the largest gap of a spectrum's top;
  :func:`bulk_edge`: the number above a robust estimate of the bulk's upper edge.

Operators are anything with ``dim``, ``params`` (read for dtype and device only) and
``matvec``: :class:`companion.landscape.HessianOperator`, the Gauss-Newton operators of
:mod:`companion.landscape.gauss_newton`, or a :class:`companion.landscape.MatrixOperator`.

Lanczos itself is :func:`companion.landscape.lanczos` (full reorthogonalisation), started
from each probe; its tridiagonal matrix T gives the quadrature.
"""

import math
from dataclasses import dataclass

import torch

from .. import rng
from .curvature import lanczos

PROBES = ("gaussian", "rademacher")


def _gaussian_probes(dim, n, seed, dtype, device):
    """(D, n) Gaussian probes of unit norm, probe i drawn from the stream ("slq probe", i) of ``seed``."""
    V = torch.stack([torch.randn(dim, generator=rng.torch_generator(seed, "slq probe", i), dtype=torch.float64)
                     for i in range(n)], dim=1)
    return (V / V.norm(dim=0)).to(dtype=dtype, device=device)


def _rademacher_probes(dim, n, seed, dtype, device):
    """(D, n) Rademacher probes of unit norm, seeded."""
    gen = torch.Generator().manual_seed(int(seed))
    V = torch.randint(2, (dim, n), generator=gen, dtype=torch.float64) * 2 - 1
    return (V / math.sqrt(dim)).to(dtype=dtype, device=device)


@dataclass(frozen=True)
class SpectralDensity:
    """Gauss quadratures of the spectral measures of the probes, from :func:`slq`.

    nodes, weights: (n_probes, n_iter) float64; each row's weights sum to 1. dim: D.
    n_matvecs: products used. The estimated density of eigenvalues (unit mass) is
    mean over probes of sum_j w_j delta(x - node_j); :meth:`density` smooths it.
    """

    nodes: torch.Tensor
    weights: torch.Tensor
    dim: int
    n_matvecs: int

    def _per_probe(self, k):
        return (self.weights * self.nodes ** k).sum(dim=1)

    def moment(self, k):
        """Estimate of tr(H^k) / D: the mean over probes of each quadrature's k-th moment (exact per probe for k < 2 n_iter)."""
        return self._per_probe(k).mean().item()

    def moment_stderr(self, k):
        """Standard error of :meth:`moment` over the probes (NaN for a single probe)."""
        per = self._per_probe(k)
        return float("nan") if len(per) < 2 else (per.std() / math.sqrt(len(per))).item()

    def density(self, grid, sigma):
        """The density of eigenvalues on ``grid``, each node broadened by a unit-mass Gaussian of width ``sigma``."""
        grid = torch.as_tensor(grid, dtype=torch.float64)
        if not sigma > 0:
            raise ValueError(f"sigma={sigma!r} must be > 0")
        z = (grid[:, None, None] - self.nodes[None]) / sigma
        kernel = torch.exp(-0.5 * z ** 2) / (sigma * math.sqrt(2 * math.pi))
        return (kernel * self.weights[None]).sum(dim=2).mean(dim=1)

    def fraction_above(self, threshold):
        """Estimated fraction of the D eigenvalues above ``threshold`` (the quadrature's mass there)."""
        return ((self.nodes > threshold) * self.weights).sum(dim=1).mean().item()


def slq(op, n_iter=80, n_probes=8, seed=0, probes="gaussian"):
    """Spectral density of the symmetric operator ``op`` by stochastic Lanczos quadrature.

    ``n_iter`` Lanczos steps (full reorthogonalisation) per probe, ``n_probes`` probes.
    ``probes``: "gaussian" (probe i from the stream ("slq probe", i) of ``seed``), "rademacher"
    (random +-1 / sqrt(D), seeded) or a (D, n) tensor of probe columns (normalised here;
    ``n_probes`` is then ignored). Costs n_iter products per
    probe. With a full Krylov space (n_iter = D) the nodes seen by a probe are exact
    eigenvalues; for any n_iter the k-th moment of each quadrature is v^T H^k v to rounding
    for k <= 2 n_iter - 1 (Gauss quadrature), so probes forming an orthonormal basis give
    tr(H^k) / D exactly.
    """
    D = op.dim
    if not 1 <= n_iter <= D:
        raise ValueError(f"n_iter={n_iter!r} must be between 1 and the operator's dimension {D}")
    dtype, device = op.params.dtype, op.params.device
    if isinstance(probes, torch.Tensor):
        if probes.dim() != 2 or probes.shape[0] != D:
            raise ValueError(f"probes must have shape ({D}, n), got {tuple(probes.shape)}")
        V = probes.to(dtype=dtype, device=device)
        V = V / V.norm(dim=0)
    elif probes in PROBES:
        if n_probes < 1:
            raise ValueError(f"n_probes={n_probes!r} must be at least 1")
        draw = _gaussian_probes if probes == "gaussian" else _rademacher_probes
        V = draw(D, n_probes, seed, dtype, device)
    else:
        raise ValueError(f"probes={probes!r} is not allowed; choose one of {list(PROBES)} or give a (D, n) tensor")
    start = op.n_matvecs if hasattr(op, "n_matvecs") else None
    nodes, weights, used = [], [], 0
    for v in V.T:
        res = lanczos(op, 1, n_iter=n_iter, v0=v)
        theta, S = torch.linalg.eigh(res.tridiagonal)
        nodes.append(theta.cpu())
        weights.append((S[0] ** 2).cpu())  # first components of T's unit eigenvectors: they sum to 1
        used += res.n_matvecs
    if start is not None:
        used = op.n_matvecs - start
    return SpectralDensity(torch.stack(nodes), torch.stack(weights), D, used)


@dataclass(frozen=True)
class TraceEstimate:
    """A trace estimate with its standard error (the sample standard deviation of its terms over sqrt(their number)).

    estimate: the trace. stderr: its standard error; an exact low-rank part (Hutch++) carries none.
    n_matvecs: products used. samples: the per-probe terms of the stochastic part.
    """

    estimate: float
    stderr: float
    n_matvecs: int
    samples: torch.Tensor


def _rademacher(dim, n, gen, dtype, device):
    return (torch.randint(2, (dim, n), generator=gen, dtype=torch.float64) * 2 - 1).to(dtype=dtype, device=device)


def _matmat(op, V):
    return torch.stack([op.matvec(v) for v in V.T], dim=1)


def hutchinson(op, n_probes=30, seed=0):
    """tr(H) by Hutchinson's estimator with Rademacher probes z: the mean of z^T H z, with its standard error.

    Unbiased; the variance of one term is 2 (||H||_F^2 - sum_i H_ii^2), so the error falls as 1/sqrt(n_probes).
    """
    if n_probes < 2:
        raise ValueError(f"n_probes={n_probes!r} must be at least 2 (one probe has no standard error)")
    gen = torch.Generator().manual_seed(int(seed))
    Z = _rademacher(op.dim, n_probes, gen, op.params.dtype, op.params.device)
    samples = (Z * _matmat(op, Z)).sum(dim=0).to(torch.float64).cpu()
    return TraceEstimate(samples.mean().item(), (samples.std() / math.sqrt(n_probes)).item(), n_probes, samples)


def hutchpp(op, n_matvecs=99, seed=0):
    """tr(H) by Hutch++ (Meyer, Musco, Musco & Woodruff 2021) with ``n_matvecs`` products, and its standard error.

    A third of the products sketch the top of the spectrum (Q = orth(H S)), a third take its
    trace tr(Q^T H Q) exactly, the rest run Hutchinson on (I - QQ^T) H (I - QQ^T). The stated
    error is that of the Hutchinson part; when H has rank <= n_matvecs / 3 the estimate is exact.
    """
    if n_matvecs < 6:
        raise ValueError(f"n_matvecs={n_matvecs!r} must be at least 6 (two for each of the three parts)")
    k = n_matvecs // 3
    r = n_matvecs - 2 * k
    dtype, device = op.params.dtype, op.params.device
    gen = torch.Generator().manual_seed(int(seed))
    S = _rademacher(op.dim, k, gen, dtype, device)
    Q, _ = torch.linalg.qr(_matmat(op, S))
    exact = torch.trace(Q.T @ _matmat(op, Q)).item()
    G = _rademacher(op.dim, r, gen, dtype, device)
    G = G - Q @ (Q.T @ G)
    HG = _matmat(op, G)
    samples = (G * (HG - Q @ (Q.T @ HG))).sum(dim=0).to(torch.float64).cpu()
    return TraceEstimate(exact + samples.mean().item(), (samples.std() / math.sqrt(r)).item(), n_matvecs, samples)


def _orthonormal(U):
    if U.dim() == 1:
        U = U[:, None]
    Q, _ = torch.linalg.qr(U)
    return Q


def overlap(v, U):
    """||P_U v||^2 / ||v||^2: the fraction of the squared norm of ``v`` inside the span of U's columns (D, k).

    U is orthonormalised first (QR), so any basis of the subspace gives the same number; in [0, 1].
    """
    v = v.reshape(-1)
    if U.shape[0] != v.numel():
        raise ValueError(f"U has {U.shape[0]} rows for a vector of length {v.numel()}")
    Q = _orthonormal(U.to(v))
    return ((Q.T @ v).square().sum() / v.square().sum()).item()


def top_eigenspace_overlap(op, v, k, n_iter=None, seed=0):
    """(fraction of ||v||^2 in the span of the top-k eigenvectors of ``op`` by :func:`lanczos` ("LA"), LanczosResult)."""
    res = lanczos(op, k, n_iter=n_iter, seed=seed)
    return overlap(v, res.eigenvectors), res


def subspace_alignment(U, V):
    """||Q_U^T Q_V||_F^2 / min(k_U, k_V): mean squared cosine of the principal angles between two subspaces, in [0, 1]."""
    QU, QV = _orthonormal(U), _orthonormal(V.to(U))
    return ((QU.T @ QV).square().sum() / min(QU.shape[1], QV.shape[1])).item()


def outlier_count(eigenvalues, max_count=None):
    """(count, gap): the outliers at the top of a spectrum read off its largest gap.

    ``eigenvalues`` in any order; the positive ones are sorted descending, l_1 >= l_2 >= ...,
    and count = argmax_i l_i / l_(i+1) over i < min(max_count + 1, number positive) (the
    ratio of consecutive eigenvalues, so the answer does not depend on the loss's scale);
    gap is that largest ratio. Needs at least two positive eigenvalues.
    """
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    lam = torch.sort(lam[lam > 0], descending=True).values
    if len(lam) < 2:
        raise ValueError("outlier_count needs at least two positive eigenvalues")
    top = len(lam) - 1 if max_count is None else min(int(max_count), len(lam) - 1)
    ratios = lam[:top] / lam[1:top + 1]
    i = int(torch.argmax(ratios))
    return i + 1, ratios[i].item()


HAMPEL_K = 3.0  # bulk_edge's cut: three robust standard deviations above the median (Hampel's identifier)
MAD_TO_SD = 1.4826  # 1.4826 x the median absolute deviation estimates the standard deviation of a normal sample


def bulk_edge(eigenvalues, k=HAMPEL_K):
    """(edge, count): a robust estimate of the bulk's upper edge under the top of a spectrum, and how many lie above.

    Hampel's identifier: edge = median + k * 1.4826 * MAD of the positive eigenvalues given, MAD
    their median absolute deviation from the median; count = the number above the edge. The
    median and the MAD are those of the bulk while the outliers are fewer than half of the values
    given (the rule's breakdown point), so give at least twice as many eigenvalues as the largest
    count to be read. Scaling every eigenvalue by c > 0 scales the edge by c and keeps the count.
    Needs at least three positive eigenvalues.
    """
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64).reshape(-1)
    lam = lam[lam > 0]
    if len(lam) < 3:
        raise ValueError("bulk_edge needs at least three positive eigenvalues")
    centre = torch.quantile(lam, 0.5)  # the usual median (mean of the two middle values of an even count)
    mad = torch.quantile((lam - centre).abs(), 0.5)
    edge = (centre + k * MAD_TO_SD * mad).item()
    return edge, int((lam > edge).sum())
