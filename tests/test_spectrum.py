"""SLQ, Hutchinson, Hutch++ and eigenspace overlaps against the dense float64 Hessian of a small model.

Tolerances. Exact statements (Gauss quadrature moments, orthonormal probe sets, full Krylov
spaces, weights summing to 1) hold to rounding: float64 with D = 79 gives errors of order
D * eps * ||H|| ~ 1e-14, checked at 1e-10 relative. Stochastic estimates are checked against
their own stated standard error: within 3 standard errors for one seed (a 0.3% chance of a
false alarm for a normal estimate), and over many seeds the share within 2 standard errors
near the normal 95%.
"""

import math

import pytest
import torch

from companion.landscape import HessianOperator, MatrixOperator, dense_hessian
from companion.landscape import lanczos
from companion.landscape.spectrum import (
    bulk_edge,
    hutchinson,
    hutchpp,
    outlier_count,
    overlap,
    slq,
    subspace_alignment,
    top_eigenspace_overlap,
)
from companion.nn import mlp

DT = torch.float64


@pytest.fixture(scope="module")
def hessian():
    """The dense Hessian of a 5-6-4-3 tanh MLP (D = 79) on 11 random examples, float64."""
    model = mlp(5, [6, 4], 3, activation="tanh", dtype=DT, seed=1)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(11, 5, generator=gen, dtype=DT), torch.arange(11) % 3
    op = HessianOperator(model, X, y)
    return dense_hessian(op), op


def test_slq_weights_sum_to_one_and_the_density_integrates_to_one(hessian):
    H, _ = hessian
    sd = slq(MatrixOperator(H), n_iter=20, n_probes=4, seed=3)
    assert sd.nodes.shape == sd.weights.shape == (4, 20)
    assert torch.allclose(sd.weights.sum(dim=1), torch.ones(4, dtype=DT), atol=1e-12)
    lo, hi, sigma = sd.nodes.min().item(), sd.nodes.max().item(), 0.01
    grid = torch.linspace(lo - 10 * sigma, hi + 10 * sigma, 20001, dtype=DT)
    assert torch.trapezoid(sd.density(grid, sigma), grid).item() == pytest.approx(1.0, abs=1e-8)


def test_gaussian_probes_of_neighbouring_seeds_share_none(hessian):
    H, _ = hessian
    nodes = [slq(MatrixOperator(H), n_iter=1, n_probes=3, seed=s).nodes.flatten().tolist() for s in (0, 1)]
    assert len(set(nodes[0]) | set(nodes[1])) == 6  # v^T H v of six different probes (seed + i would repeat two)


def test_each_quadrature_is_exact_for_polynomials_up_to_degree_2m_minus_1(hessian):
    H, _ = hessian
    m = 5
    V = torch.randn(H.shape[0], 3, generator=torch.Generator().manual_seed(7), dtype=DT)
    sd = slq(MatrixOperator(H), n_iter=m, probes=V)
    for i in range(3):
        v = V[:, i] / V[:, i].norm()
        for k in range(2 * m):
            exact = (v @ torch.linalg.matrix_power(H, k) @ v).item()
            quad = (sd.weights[i] * sd.nodes[i] ** k).sum().item()
            assert quad == pytest.approx(exact, rel=1e-10, abs=1e-14 * 10 ** k)


def test_an_orthonormal_basis_of_probes_gives_the_exact_traces_of_H_and_H2(hessian):
    H, _ = hessian
    D = H.shape[0]
    Q, _ = torch.linalg.qr(torch.randn(D, D, generator=torch.Generator().manual_seed(2), dtype=DT))
    sd = slq(MatrixOperator(H), n_iter=2, probes=Q)  # two steps: exact up to degree 3
    eig = torch.linalg.eigvalsh(H)
    assert sd.moment(0) == pytest.approx(1.0, rel=1e-12)
    assert sd.moment(1) == pytest.approx(eig.mean().item(), rel=1e-10)
    assert sd.moment(2) == pytest.approx(eig.square().mean().item(), rel=1e-10)
    assert D * sd.moment(1) == pytest.approx(torch.trace(H).item(), rel=1e-10)


def test_a_full_krylov_space_sees_exact_eigenvalues(hessian):
    H, _ = hessian
    D = H.shape[0]
    sd = slq(MatrixOperator(H), n_iter=D, n_probes=1, seed=0)
    eig = torch.linalg.eigvalsh(H)
    seen = sd.nodes[0][sd.weights[0] > 1e-12]
    assert len(seen) > D // 2
    assert (seen[:, None] - eig[None]).abs().min(dim=1).values.max() < 1e-10


def test_random_probes_estimate_the_normalised_traces_within_their_standard_error(hessian):
    H, _ = hessian
    eig = torch.linalg.eigvalsh(H)
    sd = slq(MatrixOperator(H), n_iter=15, n_probes=40, seed=11, probes="rademacher")
    for k, exact in ((1, eig.mean().item()), (2, eig.square().mean().item())):
        assert abs(sd.moment(k) - exact) <= 3 * sd.moment_stderr(k)


def test_probes_given_as_columns_are_used_as_they_are(hessian):
    H, op = hessian
    V = torch.randn(H.shape[0], 3, generator=torch.Generator().manual_seed(5), dtype=DT)
    sd = slq(op, n_iter=6, probes=V)  # through the HessianOperator
    assert op.n_matvecs >= 18 and sd.n_matvecs == 18
    for i in range(3):
        v = V[:, i] / V[:, i].norm()
        assert (sd.weights[i] * sd.nodes[i]).sum().item() == pytest.approx((v @ H @ v).item(), rel=1e-9)
        assert (sd.weights[i] * sd.nodes[i] ** 2).sum().item() == pytest.approx((H @ v).square().sum().item(), rel=1e-9)


def test_slq_refuses_bad_arguments(hessian):
    H, _ = hessian
    with pytest.raises(ValueError, match="n_iter=100 must be between 1"):
        slq(MatrixOperator(H), n_iter=100)
    with pytest.raises(ValueError, match="probes='sobol' is not allowed"):
        slq(MatrixOperator(H), n_iter=5, probes="sobol")
    with pytest.raises(ValueError, match="probes must have shape"):
        slq(MatrixOperator(H), n_iter=5, probes=torch.ones(3, 2, dtype=DT))


def test_hutchinson_is_within_its_stated_error_and_states_the_right_error(hessian):
    H, _ = hessian
    exact = torch.trace(H).item()
    est = hutchinson(MatrixOperator(H), n_probes=200, seed=0)
    assert est.n_matvecs == 200 and abs(est.estimate - exact) <= 3 * est.stderr
    # Rademacher probes: the variance of one term is 2 (||H||_F^2 - sum_i H_ii^2).
    sd = math.sqrt(2 * (H.square().sum() - torch.diagonal(H).square().sum()).item() / 200)
    assert est.stderr == pytest.approx(sd, rel=0.25)
    z = [(hutchinson(MatrixOperator(H), 30, seed=s).estimate - exact) for s in range(200)]
    se = [hutchinson(MatrixOperator(H), 30, seed=s).stderr for s in range(200)]
    inside = sum(abs(a) <= 2 * b for a, b in zip(z, se)) / 200
    assert 0.88 <= inside <= 0.99  # about 95% for a correct standard error
    assert abs(sum(z) / 200) <= 3 * sd * math.sqrt(200 / 30) / math.sqrt(200)  # unbiased


def test_hutchpp_is_exact_on_low_rank_matrices():
    gen = torch.Generator().manual_seed(4)
    U = torch.randn(60, 5, generator=gen, dtype=DT)
    A = U @ torch.diag(torch.tensor([5.0, 3, 2, -1, 0.5], dtype=DT)) @ U.T
    est = hutchpp(MatrixOperator(A), n_matvecs=18, seed=0)  # sketch of 6 >= rank 5
    assert est.estimate == pytest.approx(torch.trace(A).item(), rel=1e-10)
    assert est.stderr < 1e-10


def test_hutchpp_is_within_its_stated_error_and_beats_hutchinson(hessian):
    H, _ = hessian
    exact = torch.trace(H).item()
    errors, ses = [], []
    for s in range(100):
        est = hutchpp(MatrixOperator(H), n_matvecs=30, seed=s)
        errors.append(est.estimate - exact)
        ses.append(est.stderr)
    assert abs(errors[0]) <= 3 * ses[0]
    inside = sum(abs(e) <= 2 * s for e, s in zip(errors, ses)) / 100
    assert inside >= 0.85
    rms = math.sqrt(sum(e * e for e in errors) / 100)
    rms_hutchinson = math.sqrt(sum((hutchinson(MatrixOperator(H), 30, seed=s).estimate - exact) ** 2
                                   for s in range(100)) / 100)
    assert rms < rms_hutchinson


def test_hutchpp_and_hutchinson_refuse_too_few_products(hessian):
    H, _ = hessian
    with pytest.raises(ValueError, match="at least 6"):
        hutchpp(MatrixOperator(H), n_matvecs=5)
    with pytest.raises(ValueError, match="at least 2"):
        hutchinson(MatrixOperator(H), n_probes=1)


def test_overlap_is_one_in_the_span_and_zero_orthogonal_to_it():
    gen = torch.Generator().manual_seed(0)
    U = torch.randn(30, 4, generator=gen, dtype=DT)  # not orthonormal: overlap orthonormalises it
    inside = U @ torch.randn(4, generator=gen, dtype=DT)
    Q, _ = torch.linalg.qr(U)
    w = torch.randn(30, generator=gen, dtype=DT)
    outside = w - Q @ (Q.T @ w)
    assert overlap(inside, U) == pytest.approx(1.0, abs=1e-12)
    assert overlap(outside, U) == pytest.approx(0.0, abs=1e-12)
    assert overlap(inside + outside, U) == pytest.approx(
        inside.square().sum().item() / (inside + outside).square().sum().item(), rel=1e-10)
    with pytest.raises(ValueError, match="U has 30 rows"):
        overlap(torch.ones(7, dtype=DT), U)


def test_top_eigenspace_overlap_of_eigenvectors(hessian):
    H, _ = hessian
    eig, vecs = torch.linalg.eigh(H)
    D = H.shape[0]
    frac, res = top_eigenspace_overlap(MatrixOperator(H), vecs[:, -1] + vecs[:, -2], k=2, n_iter=D)
    assert frac == pytest.approx(1.0, abs=1e-10)
    assert torch.allclose(res.eigenvalues, eig.flip(0)[:2], atol=1e-10)
    frac, _ = top_eigenspace_overlap(MatrixOperator(H), vecs[:, 0], k=2, n_iter=D)
    assert frac == pytest.approx(0.0, abs=1e-10)


def test_subspace_alignment():
    gen = torch.Generator().manual_seed(1)
    Q, _ = torch.linalg.qr(torch.randn(20, 6, generator=gen, dtype=DT))
    assert subspace_alignment(Q[:, :3], Q[:, :3] @ torch.randn(3, 3, generator=gen, dtype=DT)) == pytest.approx(1.0)
    assert subspace_alignment(Q[:, :3], Q[:, 3:]) == pytest.approx(0.0, abs=1e-12)
    assert subspace_alignment(Q[:, :2], Q[:, 1:3]) == pytest.approx(0.5)


def test_outlier_count_reads_the_largest_ratio_of_consecutive_positive_eigenvalues():
    assert outlier_count([0.8, 10, -3, 9, 1, 8, 0.9]) == (3, pytest.approx(8.0))
    assert outlier_count([10, 1, 0.9, 0.1], max_count=2) == (1, pytest.approx(10.0))
    assert outlier_count([10, 9, 0.9, 0.1], max_count=2) == (2, pytest.approx(10.0))
    with pytest.raises(ValueError, match="two positive"):
        outlier_count([1.0, -1.0])


def test_bulk_edge_is_hampels_identifier():
    # values 1, 1, 2, 3, 3, 30: median 2.5, absolute deviations 1.5, 1.5, 0.5, 0.5, 0.5, 27.5, MAD 1
    lam = [1.0, 1.0, 2.0, 3.0, 3.0, 30.0, -2.0]
    edge, count = bulk_edge(lam)
    assert edge == pytest.approx(2.5 + 3 * 1.4826) and count == 1
    assert bulk_edge([3.0 * x for x in lam]) == (pytest.approx(3 * edge), 1)  # the loss's scale changes nothing
    assert bulk_edge(lam, k=0.3)[1] == 3  # a cut at 2.5 + 0.3 * 1.4826 = 2.94: the two 3s and 30 above it
    with pytest.raises(ValueError, match="three positive"):
        bulk_edge([1.0, 2.0, -1.0])


@pytest.mark.parametrize("n", [800, 200])
def test_bulk_edge_counts_the_outliers_of_a_spiked_wishart_matrix_from_its_lanczos_top(n):
    # a Marchenko-Pastur bulk (edge (1 + sqrt(200 / n))^2: 2.25, or 4 with a density piled up at 0 as a Hessian's)
    # plus 4 planted outliers 30, 20, 12 and 6
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(n, 200, generator=gen, dtype=DT) / math.sqrt(n / 800)
    Q, _ = torch.linalg.qr(torch.randn(200, 4, generator=gen, dtype=DT))
    H = X.T @ X / 800 + Q @ torch.diag(torch.tensor([30.0, 20.0, 12.0, 6.0], dtype=DT)) @ Q.T
    top = lanczos(MatrixOperator(H), 17, n_iter=60, seed=1).eigenvalues  # 4C + 1 with C = 4
    edge, count = bulk_edge(top)
    assert count == 4 and top[4].item() < edge < top[3].item()


def test_matrix_operator_counts_products_and_checks_shape():
    op = MatrixOperator(lambda v: 2 * v, dim=3)
    assert torch.equal(op.matvec(torch.ones(3, dtype=DT)), 2 * torch.ones(3, dtype=DT)) and op.n_matvecs == 1
    with pytest.raises(ValueError, match="square"):
        MatrixOperator(torch.ones(2, 3))
    with pytest.raises(ValueError, match="dim="):
        MatrixOperator(lambda v: v)
