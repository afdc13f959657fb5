"""The wedge model of the loss landscape (Fort & Jastrzebski, arXiv:1906.04724) as an explicit, exact toy.

The paper models the low-loss set as a union of *n-wedges* in D dimensions: each has D - n long
directions, effectively unbounded, and n short directions whose width grows with the distance from
the origin. Its equations are not in our notes, so this is our explicit version (notebook 07):

- wedge i has orthonormal short directions ``S_i`` (D x n) and a *core*, the affine (D - n)-plane
  ``{theta : S_i^T theta = a_i}``, which passes at distance ``||a_i||`` from the origin;
- its low-loss set is ``W_i = {theta : ||S_i^T theta - a_i|| <= eps ||theta||}``: a tube around the
  core whose short-direction width ``eps * r`` grows in proportion to the radius ``r = ||theta||``
  (``eps = 0``: the core itself, a zero-width "tunnel");
- the loss is ``L(theta) = min_i max(0, q_i(theta))`` with ``q_i = ||S_i^T theta - a_i||^2 - eps^2 ||theta||^2``:
  exactly 0 inside a wedge, and outside it grows with the short-direction distance to the wedge
  (for ``eps = 0`` it is the squared distance to the nearest core). The origin, where every
  network's loss is high, lies outside every wedge whose core misses it.

Everything the model predicts is solved here by linear algebra, not by training. On an affine
plane ``theta = theta_0 + M x`` each ``q_i`` is a quadratic in ``x``, so the lowest loss a
random-subspace run can reach is an exact minimum (:func:`plane_minimum`), and whether m
wedges share a point is a linear system (:func:`common_point`). Our own dimension counts (not
the paper's text): a d-plane meets a core generically iff d >= n; m cores meet iff m n <= D, in
an affine set of dimension D - m n, so m solutions can be joined through shared points by
low-loss simplices of dimension up to D - m n + 1 (:func:`shared_points`).
"""

from dataclasses import dataclass

import numpy as np
import torch

from .. import rng
from .subspace import random_subspace

DT = torch.float64


@dataclass(frozen=True)
class WedgeModel:
    """A union of N n-wedges in R^D.

    short: (N, D, n) orthonormal short directions of each wedge; centres: (N, n) the core's offset
    ``a_i`` in short coordinates; eps: the width's growth with radius (width ``eps * ||theta||``).
    """

    short: torch.Tensor
    centres: torch.Tensor
    eps: float = 0.0

    def __post_init__(self):
        if self.short.ndim != 3 or self.centres.shape != (self.short.shape[0], self.short.shape[2]):
            raise ValueError(f"short must be (N, D, n) and centres (N, n); got {tuple(self.short.shape)} and "
                             f"{tuple(self.centres.shape)}")
        if not self.eps >= 0:
            raise ValueError(f"eps={self.eps!r} must be >= 0")

    @property
    def N(self):
        return self.short.shape[0]

    @property
    def D(self):
        return self.short.shape[1]

    @property
    def n(self):
        return self.short.shape[2]


def random_wedges(D, n, N=1, eps=0.0, offset=1.0, seed=0):
    """N wedges with Haar-random short directions and cores at distance ``offset`` from the origin (seeded: wedge i's
    directions and the cores' offsets each come from their own stream of ``seed``)."""
    if not (isinstance(n, int) and 1 <= n < D):
        raise ValueError(f"n={n!r} must be an integer with 1 <= n < D={D}")
    if not (isinstance(N, int) and N >= 1):
        raise ValueError(f"N={N!r} must be a positive integer")
    if not offset >= 0:
        raise ValueError(f"offset={offset!r} must be >= 0")
    short = torch.stack([random_subspace(D, n, seed=rng.derive(seed, "short", i), dtype=DT) for i in range(N)])
    a = torch.randn(N, n, generator=rng.torch_generator(seed, "centres"), dtype=DT)
    centres = offset * a / a.norm(dim=1, keepdim=True)
    return WedgeModel(short, centres, float(eps))


def excess(model, theta):
    """q_i(theta) = ||S_i^T theta - a_i||^2 - eps^2 ||theta||^2 for every wedge: (..., N); <= 0 inside wedge i."""
    theta = torch.as_tensor(theta, dtype=DT)
    s = torch.einsum("kdn,...d->...kn", model.short, theta) - model.centres
    return s.square().sum(-1) - model.eps ** 2 * theta.square().sum(-1, keepdim=True)


def loss(model, theta):
    """The model's loss min_i max(0, q_i(theta)) at each theta (..., D) -> (...)."""
    return excess(model, theta).clamp_min(0).min(-1).values


def in_wedge(model, theta, tol=0.0):
    """Index of a wedge that contains theta (q_i <= tol), or -1, for each theta (..., D) -> (...)."""
    q = excess(model, theta)
    best = q.min(-1)
    return torch.where(best.values <= tol, best.indices, torch.full_like(best.indices, -1))


def wedge_point(model, i, radius, seed=0):
    """A seeded point of wedge i's core (q_i <= 0 for every eps): the core's nearest point to the origin plus a
    random long direction, scaled so that the point sits at ``radius`` (at least the core's distance)."""
    S, a = model.short[i], model.centres[i]
    base = S @ a
    if radius < base.norm().item():
        raise ValueError(f"radius={radius!r} is inside the core's distance {base.norm().item():.4g} from the origin")
    gen = torch.Generator().manual_seed(int(seed))
    g = torch.randn(model.D, generator=gen, dtype=DT)
    long = g - S @ (S.T @ g)
    return base + long / long.norm() * np.sqrt(max(radius ** 2 - base.square().sum().item(), 0.0))


def _plane_quadratic(model, i, offset, M):
    """q_i(offset + M x) = x^T A x + 2 g^T x + c, with A, g, c (M: orthonormal columns, D x d)."""
    S, a, e2 = model.short[i], model.centres[i], model.eps ** 2
    B = S.T @ M
    u = S.T @ offset - a
    A = B.T @ B - e2 * (M.T @ M)
    g = B.T @ u - e2 * (M.T @ offset)
    c = u @ u - e2 * (offset @ offset)
    return A, g, c, B, u


def _wedge_plane_minimum(model, i, offset, M, rtol):
    """(lowest q_i on the plane, witness x): exact; -inf with a witness where q_i <= 0 when unbounded below."""
    A, g, c, B, _ = _plane_quadratic(model, i, offset, M)
    lam, V = torch.linalg.eigh((A + A.T) / 2)
    scale = max(lam.abs().max().item(), (B.T @ B).diagonal().max().item(), 1e-300)
    gv = V.T @ g
    zero = lam.abs() <= rtol * scale
    neg = lam < -rtol * scale
    if neg.any() or (zero & (gv.abs() > np.sqrt(rtol) * max(g.norm().item(), abs(c.item()) ** 0.5, 1e-300))).any():
        # unbounded below: walk along a direction v with q(t v) = l t^2 + 2 t g.v + c until q <= 0
        j = int(torch.argmin(lam)) if neg.any() else int(torch.argmax(torch.where(zero, gv.abs(), -1.0)))
        v, l, b = V[:, j], lam[j].item(), gv[j].item()
        sign = -1.0 if b > 0 else 1.0
        if l < -rtol * scale:
            t = (abs(b) + np.sqrt(b * b + abs(l) * max(c.item(), 0.0))) / abs(l) * 1.5 + 1.0
        else:
            t = (max(c.item(), 0.0) / (2 * abs(b))) * 1.5 + 1.0
        return float("-inf"), sign * t * v
    # convex on the plane: minimiser x = -A^+ g
    inv = torch.where(zero, torch.zeros_like(lam), 1.0 / torch.where(zero, torch.ones_like(lam), lam))
    x = -(V @ (inv * gv))
    return _value(model, i, offset, M, x, A, g, c), x


def _value(model, i, offset, M, x, A, g, c):
    """q_i at plane coordinates x; for a tunnel (eps = 0) as a squared distance, which keeps it >= 0 and accurate."""
    if model.eps == 0:
        return (model.short[i].T @ (offset + M @ x) - model.centres[i]).square().sum().item()
    return (x @ A @ x + 2 * g @ x + c).item()


def _ball_minimum(model, i, offset, M, reach):
    """(lowest q_i over the plane points with ||x|| <= reach, minimiser x): the trust-region subproblem, solved
    through the eigenvalues of A and a bisection on the secular equation to the last bit (More and Sorensen)."""
    A, g, c, _, _ = _plane_quadratic(model, i, offset, M)
    lam, V = torch.linalg.eigh((A + A.T) / 2)
    lam, gv = lam.numpy(), (V.T @ g).numpy()
    lo = max(0.0, -lam[0])

    def step(mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(gv == 0, 0.0, -gv / (lam + mu))

    if lam[0] > 0 and np.linalg.norm(step(0.0)) <= reach:  # interior minimum of a convex q
        x = step(0.0)
    else:
        x0 = step(lo) if lo > 0 else step(0.0)
        if lo > 0 and np.all(np.isfinite(x0)) and np.linalg.norm(x0) <= reach:  # hard case: fill up along v_min
            x = x0 + np.sqrt(max(reach ** 2 - x0 @ x0, 0.0)) * V[:, 0].numpy()
        else:  # ||x(mu)|| = reach for one mu > lo, ||x(mu)|| decreasing in mu
            hi = lo + 1.0
            while np.linalg.norm(step(hi)) > reach:
                hi = lo + 2 * (hi - lo)
            a, b = lo, hi
            for _ in range(200):
                mid = (a + b) / 2
                if mid in (a, b):
                    break
                if np.linalg.norm(step(mid)) > reach:
                    a = mid
                else:
                    b = mid
            x = step(b)
    x = V @ torch.as_tensor(x, dtype=DT)
    return _value(model, i, offset, M, x, A, g, c), x


def plane_minimum(model, offset, M, reach=None, rtol=1e-10):
    """The lowest loss on the affine plane ``offset + M x`` (M: D x d, orthonormal columns), solved exactly.

    ``reach``: None searches the whole plane; a number only the points with ``||x|| <= reach``
    (a run that moves at most that far from the offset). Returns a dict: ``loss`` (the minimum
    of L, 0 when a wedge is reached), ``reaches`` (bool), ``wedge`` (the wedge reached, or the
    nearest), ``excess`` (the lowest q_i, -inf when unbounded below) and ``x`` (a witness: plane
    coordinates of a point in the wedge when one is reached, else of the minimiser).
    """
    offset = torch.as_tensor(offset, dtype=DT)
    M = torch.as_tensor(M, dtype=DT)
    if M.ndim != 2 or M.shape[0] != model.D or offset.shape != (model.D,):
        raise ValueError(f"need offset of shape ({model.D},) and M of shape ({model.D}, d); got "
                         f"{tuple(offset.shape)} and {tuple(M.shape)}")
    if reach is not None and not reach >= 0:
        raise ValueError(f"reach={reach!r} must be None (the whole plane) or >= 0")
    best = None
    for i in range(model.N):
        if reach is None:
            value, x = _wedge_plane_minimum(model, i, offset, M, rtol)
        else:
            value, x = _ball_minimum(model, i, offset, M, float(reach))
        if best is None or value < best[0]:
            best = (value, x, i)
    value, x, i = best
    return {"loss": max(value, 0.0), "reaches": value <= 0 or _reached(model, offset + M @ x, rtol),
            "wedge": i, "excess": value, "x": x}


def _reached(model, theta, rtol):
    """q <= 0 up to rounding: a tunnel's (eps = 0) minimum on a plane that meets it is 0 only to ~ rtol x scale^2."""
    scale = max(model.centres.square().sum(-1).max().item(), theta.square().sum().item(), 1e-300)
    return bool(excess(model, theta).min() <= rtol * scale)


def subspace_threshold(model, offset, M, reach=None, rtol=1e-10):
    """The smallest d such that the plane through ``offset`` along the first d columns of M reaches a wedge
    within ``reach`` (0 when the offset is already in one; None when all of M's columns do not suffice).

    Planes along the first d columns are nested and (for a reach) so are their balls, so the
    lowest loss never rises with d and the threshold is found by bisection.
    """
    M = torch.as_tensor(M, dtype=DT)
    offset = torch.as_tensor(offset, dtype=DT)
    if loss(model, offset).item() == 0:
        return 0
    if not plane_minimum(model, offset, M, reach, rtol)["reaches"]:
        return None
    lo, hi = 0, M.shape[1]  # the plane of lo columns does not reach, that of hi columns does
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if plane_minimum(model, offset, M[:, :mid], reach, rtol)["reaches"]:
            hi = mid
        else:
            lo = mid
    return hi


def _stacked(model, wedges):
    idx = list(range(model.N)) if wedges is None else list(wedges)
    A = torch.cat([model.short[i].T for i in idx])  # (m n, D)
    b = torch.cat([model.centres[i] for i in idx])
    return A, b


def common_point(model, wedges=None):
    """The point nearest the origin on which the cores of ``wedges`` (default all) agree best, by least squares.

    Returns (point, residual): residual = ||S^T point - a|| over the stacked system, 0 (to rounding)
    exactly when the cores share a point, which for generic wedges happens iff m n <= D.
    """
    A, b = _stacked(model, wedges)
    point = torch.linalg.pinv(A) @ b
    return point, (A @ point - b).norm().item()


def intersection_dimension(model, wedges=None, rtol=1e-9):
    """Dimension of the affine set shared by the cores of ``wedges`` (D - rank), or -1 when they share no point."""
    A, b = _stacked(model, wedges)
    _, residual = common_point(model, wedges)
    if residual > rtol * max(1.0, b.norm().item()):
        return -1
    return model.D - int(torch.linalg.matrix_rank(A).item())


def shared_points(model, k, radius=None, wedges=None, seed=0):
    """k seeded, affinely independent points in every core of ``wedges``: the shared points ("bends") of a
    connector whose every segment (k = 1) or face (k >= 2) lies inside each wedge. Needs the shared set
    to have dimension >= k - 1. ``radius``: spread of the points around the common point (default: its norm).
    """
    dim = intersection_dimension(model, wedges)
    if dim < k - 1:
        raise ValueError(f"the cores share a set of dimension {dim}; {k} affinely independent shared points need "
                         f"at least {k - 1}")
    A, _ = _stacked(model, wedges)
    point, _ = common_point(model, wedges)
    if k == 1:
        return point[None]
    _, s, Vh = torch.linalg.svd(A, full_matrices=True)
    null = Vh[int((s > 1e-9 * s.max()).sum()):].T  # (D, dim): directions along which every core runs
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(k, null.shape[1], generator=gen, dtype=DT)
    spread = point.norm().item() if radius is None else radius
    return point + spread * (z @ null.T) / np.sqrt(null.shape[1])
