"""Curvature and subspaces against exact answers on models small enough to solve exactly.

The reference Hessian is ``torch.autograd.functional.hessian`` of a hand-written forward
pass on the flat parameter vector, independent of the functional_call path under test.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from companion.landscape import (
    HessianOperator,
    MatrixOperator,
    dense_hessian,
    lanczos,
    positive_fraction,
    random_subspace,
    subspace_hessian,
    trace_ratio,
)

DT = torch.float64
ACTS = {"tanh": torch.tanh, "relu": torch.relu}
SIZES = (4, 5, 3)  # 4-5-3 MLP: 5*4 + 5 + 3*5 + 3 = 43 parameters


def tiny_mlp(activation, seed=0, dropout=0.0):
    with torch.random.fork_rng():  # seeded init without disturbing the global RNG
        torch.manual_seed(seed)
        act = {"tanh": nn.Tanh, "relu": nn.ReLU}[activation]()
        return nn.Sequential(nn.Linear(4, 5), act, nn.Dropout(dropout), nn.Linear(5, 3)).to(DT)


def tiny_data(n=7, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=gen, dtype=DT), torch.randint(3, (n,), generator=gen)


def reference_forward(theta, X, activation):
    """The 4-5-3 MLP written out by hand on the flat vector (nn.Linear stores W as out x in)."""
    a, b, c = SIZES
    W1, theta = theta[: a * b].view(b, a), theta[a * b:]
    b1, theta = theta[:b], theta[b:]
    W2, b2 = theta[: b * c].view(c, b), theta[b * c:]
    return ACTS[activation](X @ W1.T + b1) @ W2.T + b2


def reference_loss(theta, X, y, activation):
    return F.cross_entropy(reference_forward(theta, X, activation), y)


def reference_hessian(op, activation):
    X, y = op.X, op.y
    return torch.autograd.functional.hessian(lambda t: reference_loss(t, X, y, activation), op.params)


@pytest.fixture(scope="module", params=["tanh", "relu"])
def case(request):
    """(operator, exact dense Hessian, activation) for each activation."""
    X, y = tiny_data()
    op = HessianOperator(tiny_mlp(request.param), X, y)
    return op, reference_hessian(op, request.param), request.param


def matrix_with_spectrum(eigenvalues, seed=0):
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(len(eigenvalues), len(eigenvalues), generator=gen, dtype=DT))
    return Q @ torch.diag(torch.tensor(eigenvalues, dtype=DT)) @ Q.T


def rel_err(a, b):
    return ((a - b).norm() / b.norm()).item()


# HVPs and Hessians

def test_loss_matches_reference(case):
    op, _, activation = case
    assert op.loss() == pytest.approx(reference_loss(op.params, op.X, op.y, activation).item(), rel=1e-14)
    assert op.dim == 43 and op.params.dtype == DT


def test_matvec_matches_dense(case):
    op, H, _ = case
    v = torch.randn(op.dim, generator=torch.Generator().manual_seed(2), dtype=DT)
    assert rel_err(op.matvec(v), H @ v) < 1e-12


def test_matmat_matches_dense(case):
    op, H, _ = case
    V = torch.randn(op.dim, 7, generator=torch.Generator().manual_seed(3), dtype=DT)
    assert rel_err(op.matmat(V), H @ V) < 1e-12


def test_dense_hessian_is_symmetric_and_exact(case):
    op, H, _ = case
    Hd = dense_hessian(op)
    assert torch.equal(Hd, Hd.T)
    assert rel_err(Hd, H) < 1e-12


def test_subspace_hessian_is_projected_hessian(case):
    op, H, _ = case
    M = random_subspace(op.dim, 6, seed=4, dtype=DT)
    Hd = subspace_hessian(op, M)
    assert Hd.shape == (6, 6) and torch.equal(Hd, Hd.T)
    assert rel_err(Hd, M.T @ H @ M) < 1e-12


def test_mse_loss():
    X, _ = tiny_data()
    target = torch.randn(len(X), 3, generator=torch.Generator().manual_seed(5), dtype=DT)
    model = tiny_mlp("tanh")
    op = HessianOperator(model, X, target, loss="mse")
    H = torch.autograd.functional.hessian(lambda t: F.mse_loss(reference_forward(t, X, "tanh"), target), op.params)
    assert rel_err(dense_hessian(op), H) < 1e-12


def test_eval_mode_during_evaluation_and_mode_restored():
    X, y = tiny_data()
    model = tiny_mlp("tanh", dropout=0.5).train()
    op = HessianOperator(model, X, y)
    H = reference_hessian(op, "tanh")  # no dropout: what eval mode computes
    assert rel_err(dense_hessian(op), H) < 1e-12
    v = torch.ones(op.dim, dtype=DT)
    assert rel_err(op.matvec(v), H @ v) < 1e-12
    assert model.training and model[2].training


def test_operator_is_frozen_at_construction():
    X, y = tiny_data()
    model = tiny_mlp("tanh")
    op = HessianOperator(model, X, y)
    H = reference_hessian(op, "tanh")
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    assert rel_err(op.matvec(torch.ones(op.dim, dtype=DT)), H @ torch.ones(op.dim, dtype=DT)) < 1e-12


def test_n_matvecs_counting():
    X, y = tiny_data()
    op = HessianOperator(tiny_mlp("tanh"), X, y)
    op.matvec(torch.ones(op.dim, dtype=DT))
    assert op.n_matvecs == 1
    op.matmat(torch.ones(op.dim, 9, dtype=DT))
    assert op.n_matvecs == 10
    subspace_hessian(op, random_subspace(op.dim, 5, dtype=DT))
    assert op.n_matvecs == 15
    dense_hessian(op)
    assert op.n_matvecs == 15 + op.dim
    res = lanczos(op, 3, n_iter=12)
    assert res.n_matvecs == res.n_iter == 12 and op.n_matvecs == 27 + op.dim


def test_operator_argument_errors():
    X, y = tiny_data()
    with pytest.raises(ValueError, match="loss='hinge'.*cross_entropy"):
        HessianOperator(tiny_mlp("tanh"), X, y, loss="hinge")
    op = HessianOperator(tiny_mlp("tanh"), X, y)
    with pytest.raises(ValueError, match=r"shape \(43,\)"):
        op.matvec(torch.ones(42, dtype=DT))
    with pytest.raises(ValueError, match=r"shape \(43, k\)"):
        op.matmat(torch.ones(43, dtype=DT))


# Lanczos

def test_lanczos_top_k_matches_eigh(case):
    op, H, _ = case
    lam, U = torch.linalg.eigh(H)
    lam, U = lam.flip(0), U.flip(1)
    k = 4
    res = lanczos(op, k, seed=0)
    assert res.n_iter == 28  # max(2k + 20, 3k) = 28 < D = 43
    assert (res.eigenvalues - lam[:k]).abs().max() / lam[:k].abs().max() <= 1e-6
    cos = (res.eigenvectors.T @ U[:, :k]).diagonal().abs()
    assert (1 - cos).max() <= 1e-6
    true_residuals = (H @ res.eigenvectors - res.eigenvectors * res.eigenvalues).norm(dim=0)
    assert true_residuals.max() <= 1e-6 * lam[0]
    assert torch.allclose(res.residuals, true_residuals, atol=1e-9 * lam[0].item())


def test_lanczos_full_space_gives_whole_spectrum(case):
    op, H, _ = case
    res = lanczos(op, op.dim, n_iter=op.dim, seed=1)
    lam = torch.linalg.eigvalsh(H).flip(0)
    assert (res.eigenvalues - lam).abs().max() <= 1e-10 * lam.abs().max()
    V = res.eigenvectors
    assert torch.allclose(V.T @ V, torch.eye(op.dim, dtype=DT), atol=1e-10)


def test_lanczos_la_versus_lm():
    spectrum = [-10.0, -9.0, 5.0, 4.0, 3.0] + [0.1 * i for i in range(25)]
    A = matrix_with_spectrum(spectrum)
    op = MatrixOperator(A)
    la = lanczos(op, 2, n_iter=30, which="LA")
    lm = lanczos(op, 3, n_iter=30, which="LM")
    assert torch.allclose(la.eigenvalues, torch.tensor([5.0, 4.0], dtype=DT), atol=1e-10)
    assert torch.allclose(lm.eigenvalues, torch.tensor([-10.0, -9.0, 5.0], dtype=DT), atol=1e-10)
    for res in (la, lm):
        r = A @ res.eigenvectors - res.eigenvectors * res.eigenvalues
        assert r.norm(dim=0).max() < 1e-9


def test_lanczos_breakdown_low_rank_with_multiplicities():
    """Linear least squares on 2 points: H = (2/6) I_3 (x) X^T X has rank 6 of 12, eigenvalues triple.

    One start vector spans only a 3-dimensional invariant Krylov space (two distinct non-zero
    eigenvalues and the null space); the restarts must find the other copies.
    """
    gen = torch.Generator().manual_seed(6)
    X = torch.randn(2, 4, generator=gen, dtype=DT)
    model = nn.Linear(4, 3, bias=False).to(DT)
    op = HessianOperator(model, X, torch.randn(2, 3, generator=gen, dtype=DT), loss="mse")
    H = dense_hessian(op)
    lam = torch.linalg.eigvalsh(H).flip(0)
    assert torch.allclose(lam[6:], torch.zeros(6, dtype=DT), atol=1e-14)  # rank 6
    res = lanczos(op, 8, seed=0)
    assert res.n_iter == op.dim == 12
    assert (res.eigenvalues - lam[:8]).abs().max() <= 1e-10 * lam[0]
    V = res.eigenvectors
    assert torch.allclose(V.T @ V, torch.eye(8, dtype=DT), atol=1e-10)
    assert (H @ V - V * res.eigenvalues).norm(dim=0).max() <= 1e-10 * lam[0]


def test_lanczos_zero_operator():
    op = MatrixOperator(torch.zeros(6, 6, dtype=DT))
    res = lanczos(op, 3, n_iter=6)
    assert torch.equal(res.eigenvalues, torch.zeros(3, dtype=DT))
    assert torch.allclose(res.eigenvectors.T @ res.eigenvectors, torch.eye(3, dtype=DT), atol=1e-12)


def test_lanczos_is_deterministic_from_seed(case):
    op, _, _ = case
    a, b = lanczos(op, 2, n_iter=6, seed=3), lanczos(op, 2, n_iter=6, seed=3)
    c = lanczos(op, 2, n_iter=6, seed=4)
    assert torch.equal(a.eigenvalues, b.eigenvalues) and torch.equal(a.eigenvectors, b.eigenvectors)
    assert not torch.equal(a.eigenvalues, c.eigenvalues)


def test_lanczos_argument_errors():
    op = MatrixOperator(torch.eye(5, dtype=DT))
    with pytest.raises(ValueError, match="which='SA'.*'LA'.*'LM'"):
        lanczos(op, 2, which="SA")
    with pytest.raises(ValueError, match="k=6 must be between 1 and .* 5"):
        lanczos(op, 6)
    with pytest.raises(ValueError, match="n_iter=2 must be between k=3 and .* 5"):
        lanczos(op, 3, n_iter=2)


# Spectral summaries

@pytest.mark.parametrize("eigenvalues, expected", [
    ([1.0, 1.0, 1.0, 1.0], 2.0),  # all equal and positive: sqrt(d)
    ([2.5] * 9, 3.0),
    ([-2.0, -2.0, -2.0], -math.sqrt(3)),  # the lower end, -sqrt(d)
    ([3.0, 4.0], 7.0 / 5.0),
    ([1.0, -1.0], 0.0),
    ([5.0, 0.0, 0.0, 0.0], 1.0),  # one non-zero eigenvalue
])
def test_trace_ratio(eigenvalues, expected):
    assert trace_ratio(eigenvalues) == pytest.approx(expected, rel=1e-15, abs=1e-15)
    assert trace_ratio(torch.tensor(eigenvalues)) == pytest.approx(expected, rel=1e-6, abs=1e-7)


def test_trace_ratio_edge_cases():
    assert math.isnan(trace_ratio([0.0, 0.0]))
    with pytest.raises(ValueError, match="empty"):
        trace_ratio([])


def test_positive_fraction():
    assert positive_fraction([1.0, -1.0, 0.0, 2.0]) == 0.5  # zero is not positive
    assert positive_fraction(torch.ones(7)) == 1.0
    assert positive_fraction([-1e-30]) == 0.0
    with pytest.raises(ValueError, match="empty"):
        positive_fraction(torch.tensor([]))


def test_spectral_summaries_of_a_subspace_hessian(case):
    op, H, _ = case
    M = random_subspace(op.dim, 10, seed=7, dtype=DT)
    lam = torch.linalg.eigvalsh(subspace_hessian(op, M))
    exact = torch.linalg.eigvalsh(M.T @ H @ M)
    assert trace_ratio(lam) == pytest.approx((exact.sum() / exact.norm()).item(), rel=1e-10)
    assert positive_fraction(lam) == (exact > 0).double().mean().item()
    assert abs(trace_ratio(lam)) <= math.sqrt(10)


# Random subspaces

def test_orthonormal_subspace():
    M = random_subspace(50, 12, seed=1, dtype=DT)
    assert M.shape == (50, 12) and M.dtype == DT
    assert torch.allclose(M.T @ M, torch.eye(12, dtype=DT), atol=1e-13)
    M32 = random_subspace(50, 12, seed=1)
    assert M32.dtype == torch.float32 and torch.allclose(M32.double(), M, atol=1e-7)
    square = random_subspace(7, 7, seed=2, dtype=DT)  # d = D: an orthogonal matrix
    assert torch.allclose(square.T @ square, torch.eye(7, dtype=DT), atol=1e-13)


def test_sparse_subspace():
    D, d = 400, 30
    M = random_subspace(D, d, kind="sparse", seed=1, dtype=DT)
    assert torch.allclose(M.norm(dim=0), torch.ones(d, dtype=DT), atol=1e-14)
    nnz = (M != 0).sum(dim=0)
    assert nnz.min() >= 1 and nnz.double().mean() == pytest.approx(D ** 0.5, rel=0.3)  # density 1/sqrt(D)
    assert torch.allclose(M.abs().max(dim=0).values, nnz.double() ** -0.5)  # entries +-1/sqrt(nnz)
    gram = M.T @ M - torch.eye(d, dtype=DT)
    assert gram.abs().max() < 0.4  # only approximately orthogonal
    tiny = random_subspace(D, d, kind="sparse", density=1e-6, seed=2)
    assert ((tiny != 0).sum(dim=0) >= 1).all()
    assert torch.allclose(tiny.norm(dim=0), torch.ones(d))


@pytest.mark.parametrize("kind", ["orthonormal", "sparse"])
def test_subspace_deterministic_from_seed(kind):
    before = torch.random.get_rng_state()
    a = random_subspace(60, 5, kind=kind, seed=3)
    assert torch.equal(a, random_subspace(60, 5, kind=kind, seed=3))
    assert not torch.equal(a, random_subspace(60, 5, kind=kind, seed=4))
    assert torch.equal(before, torch.random.get_rng_state())  # global RNG untouched


@pytest.mark.parametrize("kwargs, message", [
    (dict(D=10, d=11), "d=11 must be an integer between 1 and D=10"),
    (dict(D=10, d=0), "d=0 must be"),
    (dict(D=0, d=1), "D=0 must be a positive integer"),
    (dict(D=10, d=2, kind="gaussian"), r"kind='gaussian' is not allowed; choose one of \['orthonormal', 'sparse'\]"),
    (dict(D=10, d=2, kind="sparse", density=0.0), r"density=0.0 must be in \(0, 1\]"),
    (dict(D=10, d=2, density=0.5), "density=0.5 applies only to kind='sparse'"),
])
def test_subspace_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        random_subspace(**kwargs)


def test_lanczos_from_a_given_start_vector_returns_its_tridiagonal():
    A = torch.diag(torch.arange(1.0, 7.0, dtype=torch.float64))
    v0 = torch.tensor([1.0, 1.0, 0, 0, 0, 0], dtype=torch.float64)  # spans an invariant 2-d space of A
    res = lanczos(MatrixOperator(A), 2, n_iter=2, v0=v0)
    # T from v0 / sqrt(2): alpha_1 = (1 + 2) / 2, beta_1 = 1/2, alpha_2 = 1.5; its eigenvalues are exactly 1 and 2
    assert torch.allclose(res.tridiagonal, torch.tensor([[1.5, 0.5], [0.5, 1.5]], dtype=torch.float64), atol=1e-15)
    assert torch.allclose(res.eigenvalues, torch.tensor([2.0, 1.0], dtype=torch.float64), atol=1e-14)
    with pytest.raises(ValueError, match="v0 must be a non-zero vector of length 6"):
        lanczos(MatrixOperator(A), 1, n_iter=2, v0=torch.zeros(6, dtype=torch.float64))
