"""H = G + H2, per-logit gradients and the clustered-logit model, checked exactly on small float64 models.

The references are computed independently of the code under test: the dense Hessian by
HVPs of the loss (companion.landscape.dense_hessian), G from per-logit gradients
(vmap of jacrev) and from autograd loops, H2 from its own operator, the softmax Hessian by
torch.autograd.functional.hessian.
"""

import pytest
import torch
import torch.nn.functional as F

from companion.landscape import HessianOperator, dense_hessian
from companion.landscape import gradients as gr
from companion.landscape.gauss_newton import (
    ClusteredLogitModel,
    GaussNewtonOperator,
    SecondTermOperator,
    dense_gauss_newton,
    dense_second_term,
    logit_gradient_clusters,
    probs_curvature,
    signal_eigenvalues,
    softmax_curvature,
)
from companion.nn import cnn, mlp

DT = torch.float64
MODELS = {
    "tanh-mlp": lambda: mlp(5, [6, 4], 3, activation="tanh", dtype=DT, seed=1),
    "relu-mlp": lambda: mlp(5, [6, 4], 3, activation="relu", dtype=DT, seed=2),
    "cnn": lambda: cnn((1, 4, 4), [2], 3, activation="tanh", dtype=DT, seed=3),
}


def _data(name, n=11, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = (n, 1, 4, 4) if name == "cnn" else (n, 5)
    return torch.randn(*shape, generator=gen, dtype=DT), torch.arange(n) % 3


@pytest.fixture(scope="module", params=sorted(MODELS))
def case(request):
    model = MODELS[request.param]()
    X, y = _data(request.param)
    return request.param, model, X, y, dense_hessian(HessianOperator(model, X, y))


def test_gauss_newton_plus_second_term_is_the_hessian(case):
    _, model, X, y, H = case
    G, H2 = dense_gauss_newton(model, X, y), dense_second_term(model, X, y)
    assert torch.allclose(G + H2, H, atol=1e-13, rtol=0)
    assert torch.linalg.eigvalsh(G).min() > -1e-13  # G is positive semi-definite
    assert H.abs().max() > 1e-3 and (H - G).abs().max() > 1e-6  # neither term is trivially zero here


def test_operator_products_equal_the_dense_matrices_kept_or_chunked(case):
    _, model, X, y, H = case
    G = dense_gauss_newton(model, X, y)
    kept = GaussNewtonOperator(model, X, y)  # all 11 examples in one chunk: graph kept
    chunked = GaussNewtonOperator(model, X, y, chunk=4)  # 3 chunks, rebuilt per product
    assert kept._kept is not None and chunked._kept is None
    assert torch.allclose(dense_hessian(kept), G, atol=1e-14, rtol=0)
    assert torch.allclose(dense_hessian(chunked), G, atol=1e-14, rtol=0)
    assert torch.allclose(dense_hessian(SecondTermOperator(model, X, y, chunk=5)), H - G, atol=1e-13, rtol=0)
    assert kept.n_matvecs == kept.dim


def test_gauss_newton_equals_the_loop_formula_from_autograd_jacobians():
    model = MODELS["tanh-mlp"]()
    X, y = _data("tanh-mlp", n=6)
    J = gr.loop_logit_grads(model, X)  # one backward pass per (example, logit)
    with torch.no_grad():
        M = softmax_curvature(model(X))
    G = sum(J[i].T @ M[i] @ J[i] for i in range(len(X))) / len(X)
    assert torch.allclose(dense_gauss_newton(model, X, y), G, atol=1e-14)


def test_gradient_is_the_gradient_of_the_mean_cross_entropy(case):
    _, model, X, y, _ = case
    op = GaussNewtonOperator(model, X, y, chunk=4)
    params = list(model.parameters())
    loss = F.cross_entropy(model.eval()(X), y)
    expected = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])
    assert torch.allclose(op.gradient(), expected, atol=1e-15)
    J = gr.per_logit_grads(model, X)
    assert torch.allclose(torch.einsum("ncd,nc->d", J, op.residuals) / len(X), expected, atol=1e-15)


def test_softmax_curvature_is_the_hessian_of_the_cross_entropy_in_the_logits():
    z = torch.tensor([0.3, -1.2, 2.0, 0.1], dtype=DT)
    exact = torch.autograd.functional.hessian(lambda t: F.cross_entropy(t[None], torch.tensor([1])), z)
    assert torch.allclose(softmax_curvature(z), exact, atol=1e-15)
    M = softmax_curvature(torch.randn(5, 4, dtype=DT))
    assert torch.allclose(M.sum(dim=-1), torch.zeros(5, 4, dtype=DT), atol=1e-15)  # rank <= C - 1


@pytest.mark.parametrize("name", sorted(MODELS))
def test_per_logit_gradients_equal_the_autograd_loop_at_any_chunk(name):
    model = MODELS[name]()
    X, _ = _data(name, n=7)
    loop = gr.loop_logit_grads(model, X)
    assert loop.shape == (7, 3, gr.n_params(model))
    for chunk in (None, 1, 3):
        assert torch.allclose(gr.per_logit_grads(model, X, chunk=chunk), loop, atol=1e-14)
    rows = torch.cat([J for _, _, J in gr.iter_per_logit_grads(model, X, chunk=2)])
    assert torch.equal(rows, gr.per_logit_grads(model, X, chunk=2))


def test_logit_chunks_fit_the_budget_divided_among_the_logits():
    model = MODELS["tanh-mlp"]()
    X, _ = _data("tanh-mlp", n=500)
    budget = 40 * gr.bytes_per_example(model, X[0])
    assert gr.logit_chunk_size(model, X, budget) == 13  # 40 examples' worth for 3 logits each
    assert gr.chunk_size(model, X, budget) == 40
    with pytest.raises(ValueError, match="memory_budget"):
        gr.logit_chunk_size(model, X, 0)


def test_cluster_means_and_noise_are_the_mean_and_mean_squared_spread():
    J = torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[3.0, 0.0], [0.0, 0.0]]], dtype=DT)  # (N=2, C=2, D=2)
    means, noise = logit_gradient_clusters(J)
    assert torch.equal(means, torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=DT))
    assert torch.equal(noise, torch.tensor([1.0, 1.0], dtype=DT))


def test_signal_eigenvalues_are_those_of_m_T_Mbar_m_and_at_most_C_minus_1_are_non_zero():
    gen = torch.Generator().manual_seed(0)
    means = torch.randn(4, 30, generator=gen, dtype=DT)
    probs = torch.softmax(torch.randn(9, 4, generator=gen, dtype=DT), dim=1)
    Mbar = probs_curvature(probs).mean(dim=0)
    dense = torch.linalg.eigvalsh(means.T @ Mbar @ means).flip(0)[:4]
    lam = signal_eigenvalues(means, probs)
    assert torch.allclose(lam, dense, atol=1e-12)
    assert lam[:3].min() > 1e-3 and abs(lam[3]) < 1e-12


def test_the_model_without_noise_is_its_signal_and_with_noise_matches_its_formula():
    gen = torch.Generator().manual_seed(1)
    means = torch.randn(3, 25, generator=gen, dtype=DT)
    probs = torch.softmax(torch.randn(8, 3, generator=gen, dtype=DT), dim=1)
    quiet = ClusteredLogitModel(means, torch.zeros(3, dtype=DT), probs, dtype=DT)
    eig = torch.linalg.eigvalsh(dense_hessian(quiet)).flip(0)
    assert torch.allclose(eig[:3], signal_eigenvalues(means, probs), atol=1e-12)
    noisy = ClusteredLogitModel(means, torch.tensor([1.0, 4.0, 0.25], dtype=DT), probs, seed=3, dtype=DT)
    J = noisy.J
    expected = sum(J[i].T @ probs_curvature(probs[i]) @ J[i] for i in range(8)) / 8
    assert torch.allclose(dense_hessian(noisy), expected, atol=1e-12)
    spread = (J - means).square().sum(dim=2).mean(dim=0)  # one draw: near the requested noise
    assert torch.allclose(spread, torch.tensor([1.0, 4.0, 0.25], dtype=DT), rtol=0.4)
    again = ClusteredLogitModel(means, torch.tensor([1.0, 4.0, 0.25], dtype=DT), probs, seed=3, dtype=DT)
    assert torch.equal(again.J, J)  # seeded
