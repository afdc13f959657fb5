"""The wedge model of notebook 07, checked against exact answers: hand cases, linear algebra, brute force."""

import itertools

import numpy as np
import pytest
import torch

from companion.landscape import random_subspace
from companion.landscape import wedges as W

DT = torch.float64


def _unit(D, seed):
    u = torch.randn(D, generator=torch.Generator().manual_seed(seed), dtype=DT)
    return u / u.norm()


def _hand_model(eps):
    """One wedge in R^3 with short direction e1 and core {theta_1 = 1}."""
    return W.WedgeModel(torch.eye(3, dtype=DT)[:, :1][None], torch.tensor([[1.0]], dtype=DT), eps)


# --- the model and its loss -----------------------------------------------------------------------------------

def test_loss_on_hand_cases():
    tunnel, wedge = _hand_model(0.0), _hand_model(0.5)
    theta = torch.tensor([[3.0, 0.0, 0.0], [1.0, 5.0, -2.0], [0.0, 0.0, 0.0], [2.0, 2.0, 0.0]], dtype=DT)
    assert W.loss(tunnel, theta).tolist() == [4.0, 0.0, 1.0, 1.0]  # squared distance to the plane theta_1 = 1
    # q = (theta_1 - 1)^2 - 0.25 ||theta||^2: 4 - 2.25, 0 - 7.5, 1 - 0, 1 - 2
    assert W.excess(wedge, theta)[:, 0].tolist() == [1.75, -7.5, 1.0, -1.0]
    assert W.loss(wedge, theta).tolist() == [1.75, 0.0, 1.0, 0.0]
    assert W.in_wedge(wedge, theta).tolist() == [-1, 0, -1, 0]


def test_width_grows_in_proportion_to_the_radius():
    wedge = _hand_model(0.5)
    edges = []
    for y in (10.0, 100.0, 1000.0):  # on the line theta = (1 + s, y, 0) the edge is where 4 s^2 = (1 + s)^2 + y^2
        s = (0.5 + np.sqrt(0.25 + 0.75 * (1 + y * y))) / 1.5
        assert W.excess(wedge, torch.tensor([1 + s, y, 0.0], dtype=DT)).item() == pytest.approx(0, abs=1e-9 * y * y)
        assert W.loss(wedge, torch.tensor([1 + 0.999 * s, y, 0.0], dtype=DT)).item() == 0.0
        assert W.loss(wedge, torch.tensor([1 + 1.001 * s, y, 0.0], dtype=DT)).item() > 0.0
        edges.append(s)
    assert edges[2] / 1000.0 == pytest.approx(1 / np.sqrt(3), rel=1e-3)  # half-width -> y / sqrt(3): linear in y
    # the union takes the nearest wedge
    two = W.WedgeModel(torch.stack([torch.eye(3, dtype=DT)[:, :1], torch.eye(3, dtype=DT)[:, 1:2]]),
                       torch.tensor([[1.0], [-2.0]], dtype=DT), 0.0)
    assert W.loss(two, torch.tensor([0.0, 0.0, 7.0], dtype=DT)).item() == 1.0
    assert W.loss(two, torch.tensor([4.0, -1.5, 0.0], dtype=DT)).item() == 0.25


def test_random_wedges_are_orthonormal_with_cores_at_the_given_distance():
    model = W.random_wedges(50, 7, N=3, eps=0.1, offset=2.5, seed=4)
    assert (model.N, model.D, model.n) == (3, 50, 7)
    for S in model.short:
        assert torch.allclose(S.T @ S, torch.eye(7, dtype=DT), atol=1e-12)
    assert model.centres.norm(dim=1).tolist() == pytest.approx([2.5] * 3, rel=1e-12)
    assert torch.equal(W.random_wedges(50, 7, N=3, eps=0.1, offset=2.5, seed=4).short, model.short)
    other = W.random_wedges(50, 7, N=3, eps=0.1, offset=2.5, seed=5)  # another seed shares no wedge with this one
    assert not any(torch.allclose(a, b) for a in model.short for b in other.short)
    with pytest.raises(ValueError, match="n=50 must be an integer with 1 <= n < D=50"):
        W.random_wedges(50, 50)


def test_wedge_points_lie_on_the_core_at_the_asked_radius():
    model = W.random_wedges(40, 5, N=2, eps=0.0, offset=1.0, seed=1)
    theta = W.wedge_point(model, 1, radius=3.0, seed=2)
    assert theta.norm().item() == pytest.approx(3.0, rel=1e-12)
    assert torch.allclose(model.short[1].T @ theta, model.centres[1], atol=1e-12)
    assert W.loss(model, theta).item() < 1e-24
    with pytest.raises(ValueError, match="inside the core's distance"):
        W.wedge_point(model, 0, radius=0.5)


# --- random d-planes: the threshold ---------------------------------------------------------------------------

@pytest.mark.parametrize("N", [1, 3])
@pytest.mark.parametrize("radius", [0.1, 1.0, 30.0])
def test_a_random_plane_reaches_a_tunnel_iff_d_is_at_least_its_short_dimension(N, radius):
    D, n = 120, 12
    model = W.random_wedges(D, n, N=N, eps=0.0, offset=1.0, seed=N)
    for seed in range(3):
        M = random_subspace(D, n + 3, seed=50 + seed, dtype=DT)
        offset = radius * _unit(D, 90 + seed)
        below = W.plane_minimum(model, offset, M[:, :n - 1])
        at = W.plane_minimum(model, offset, M[:, :n])
        assert not below["reaches"] and below["loss"] > 1e-6  # d = n - 1: a miss 14 orders above rounding
        assert at["reaches"] and at["loss"] < 1e-20 * max(1.0, radius ** 2)  # d = n: on the core, to rounding
        assert W.subspace_threshold(model, offset, M) == n
        # the witness is the point of the plane that the minimum says
        x = at["x"]
        assert W.loss(model, offset + M[:, :n] @ x).item() == pytest.approx(at["loss"], abs=1e-20)


def test_below_the_threshold_the_minimum_is_the_least_squares_distance_to_the_core():
    D, n, d = 60, 8, 5
    model = W.random_wedges(D, n, N=1, eps=0.0, offset=1.0, seed=3)
    M, offset = random_subspace(D, d, seed=8, dtype=DT), 2.0 * _unit(D, 4)
    S, a = model.short[0], model.centres[0]
    x = torch.linalg.lstsq(S.T @ M, a - S.T @ offset).solution
    want = (S.T @ (offset + M @ x) - a).square().sum().item()
    got = W.plane_minimum(model, offset, M)
    assert got["loss"] == pytest.approx(want, rel=1e-10)
    assert got["x"] == pytest.approx(x, rel=1e-8, abs=1e-10)


def test_a_plane_of_a_widening_wedge_reaches_it_through_an_exact_witness():
    D, n = 100, 20
    model = W.random_wedges(D, n, N=1, eps=(8 / D) ** 0.5, offset=1.0, seed=0)
    M = random_subspace(D, n, seed=1, dtype=DT)
    offset = 3.0 * _unit(D, 2)
    d = W.subspace_threshold(model, offset, M)
    assert d is not None and d < n  # a widening wedge is reached below its short dimension
    for k in (d, n):
        res = W.plane_minimum(model, offset, M[:, :k])
        assert res["reaches"] and W.loss(model, offset + M[:, :k] @ res["x"]).item() == 0.0
    res = W.plane_minimum(model, offset, M[:, :d - 1])
    assert not res["reaches"] and res["loss"] > 0
    # below the threshold q is convex on the plane and the minimiser is stationary: the minimum is global
    A, g, _, _, _ = W._plane_quadratic(model, 0, offset, M[:, :d - 1])
    assert torch.linalg.eigvalsh(A).min() > 0
    assert (A @ res["x"] + g).norm().item() < 1e-9 * g.norm().item()


def test_the_ball_minimum_matches_brute_force_on_a_two_dimensional_plane():
    D, n = 30, 4
    for eps, seed in ((0.0, 0), (0.3, 1), (0.45, 2)):
        model = W.random_wedges(D, n, N=1, eps=eps, offset=1.0, seed=seed)
        M, offset = random_subspace(D, 2, seed=seed + 10, dtype=DT), 1.5 * _unit(D, seed + 20)
        A, g, c, _, _ = W._plane_quadratic(model, 0, offset, M)
        for reach in (0.2, 1.0, 5.0):
            value, x = W._ball_minimum(model, 0, offset, M, reach)
            assert x.norm().item() <= reach * (1 + 1e-12)
            r, phi = np.meshgrid(np.linspace(0, reach, 400), np.linspace(0, 2 * np.pi, 800))
            pts = torch.tensor(np.stack([r * np.cos(phi), r * np.sin(phi)], -1).reshape(-1, 2), dtype=DT)
            brute = (torch.einsum("ti,ij,tj->t", pts, A, pts) + 2 * pts @ g + c).min().item()
            assert value <= brute + 1e-12  # nothing on the disc is lower than the exact minimum ...
            assert value >= brute - 1e-3 * max(1.0, abs(brute))  # ... and the grid comes close to it


def test_a_cone_through_the_origin_looks_the_same_at_every_radius():
    """Core offset 0: scaling the offset (and the reach) by a scales every q by a^2, so the threshold of the whole
    plane cannot depend on the radius: width proportional to radius alone does not move it."""
    D, n = 120, 16
    model = W.random_wedges(D, n, N=1, eps=(6 / D) ** 0.5, offset=0.0, seed=5)
    M, u = random_subspace(D, n, seed=6, dtype=DT), _unit(D, 7)
    base = W.plane_minimum(model, u, M[:, :4], reach=0.7)
    for a in (0.01, 3.0, 1000.0):
        scaled = W.plane_minimum(model, a * u, M[:, :4], reach=0.7 * a)
        assert scaled["excess"] == pytest.approx(a ** 2 * base["excess"], rel=1e-8)
    thresholds = {W.subspace_threshold(model, r * u, M) for r in (0.01, 1.0, 100.0, 1e4)}
    assert len(thresholds) == 1 and None not in thresholds


def test_with_a_finite_reach_the_threshold_rises_with_the_radius():
    """What the model says about random-subspace training from offsets at different radii: a run that moves at most
    a distance rho sees the wedge only where the wedge is within rho. For a cone, radius r with reach rho is radius 1
    with reach rho / r, and a smaller ball reaches less: d*(r) never falls as r grows, and beyond some radius no
    plane of M reaches the wedge. As the reach grows it becomes the whole plane's threshold."""
    D, n = 120, 16
    model = W.random_wedges(D, n, N=1, eps=(6 / D) ** 0.5, offset=0.0, seed=5)
    for seed in range(3):
        M, u = random_subspace(D, 2 * n, seed=10 + seed, dtype=DT), _unit(D, 20 + seed)
        radii = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0]
        d = [W.subspace_threshold(model, r * u, M, reach=1.0) for r in radii]
        steps = [999 if v is None else v for v in d]
        assert steps == sorted(steps)  # never falls
        assert d[-1] is None and d[0] is not None and d[0] <= n  # far out nothing reaches; close in d <= n does
        assert W.subspace_threshold(model, 3.0 * u, M, reach=1e9) == W.subspace_threshold(model, 3.0 * u, M)


def test_the_core_offset_breaks_the_scale_at_small_radius():
    """Cores at distance 1 from the origin (where the loss is high, as for a network at theta = 0): with a finite
    reach, an offset at radius << 1 must first travel to the cores, so it needs a larger d than the cone through
    the origin with the same directions; far out (radius >> reach) neither is reached."""
    D, n = 120, 16
    for seed in range(3):
        model = W.random_wedges(D, n, N=1, eps=(6 / D) ** 0.5, offset=1.0, seed=5 + seed)
        cone = W.WedgeModel(model.short, torch.zeros_like(model.centres), model.eps)
        M, u = random_subspace(D, 3 * n, seed=10 + seed, dtype=DT), _unit(D, 20 + seed)
        assert W.loss(model, 0.0 * u).item() == pytest.approx(1.0)  # the origin: squared distance 1 to the core
        small = W.subspace_threshold(model, 0.01 * u, M, reach=2.0)
        assert small is not None and small >= W.subspace_threshold(cone, 0.01 * u, M, reach=2.0) + 5
        assert W.subspace_threshold(model, 100.0 * u, M, reach=2.0) is None
        assert W.subspace_threshold(cone, 100.0 * u, M, reach=2.0) is None


# --- connectivity ---------------------------------------------------------------------------------------------

def test_m_cores_share_a_point_iff_m_n_is_at_most_d():
    D, n = 60, 20
    model = W.random_wedges(D, n, N=4, eps=0.0, offset=1.0, seed=2)
    for m, dim in ((1, 40), (2, 20), (3, 0), (4, -1)):
        wedges = list(range(m))
        assert W.intersection_dimension(model, wedges) == dim
        point, residual = W.common_point(model, wedges)
        if dim >= 0:
            assert residual < 1e-10 and W.loss(model, point).item() < 1e-20
            for i in wedges:
                assert torch.allclose(model.short[i].T @ point, model.centres[i], atol=1e-10)
        else:
            assert residual > 0.1


def test_shared_points_join_every_solution_by_zero_loss_simplices_and_lines_do_not():
    D, n, m = 90, 20, 3  # the three cores share a set of dimension D - m n = 30
    model = W.random_wedges(D, n, N=m, eps=0.0, offset=1.0, seed=3)
    ends = [W.wedge_point(model, i, radius=4.0, seed=i) for i in range(m)]
    for k in (1, 2, 3):
        shared = W.shared_points(model, k, wedges=range(m), seed=k)
        assert shared.shape == (k, D)
        if k > 1:  # affinely independent
            assert torch.linalg.matrix_rank(shared[1:] - shared[0]).item() == k - 1
        weights = _dirichlet(k + 1, 50, seed=k)
        for i, end in enumerate(ends):  # face i: end i and every shared point, all on core i
            pts = weights @ torch.cat([end[None], shared])
            assert W.loss(model, pts).max().item() < 1e-20
    for i, j in itertools.combinations(range(m), 2):
        mid = (ends[i] + ends[j]) / 2
        assert W.loss(model, mid).item() > 0.1  # the straight line leaves every wedge
    with pytest.raises(ValueError, match="dimension 30; 32 affinely independent shared points need at least 31"):
        W.shared_points(model, 32, wedges=range(m))


def _dirichlet(k, count, seed):
    e = -torch.log1p(-torch.rand(count, k, generator=torch.Generator().manual_seed(seed), dtype=DT))
    return e / e.sum(1, keepdim=True)
