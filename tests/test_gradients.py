"""Per-example gradients on both paths (layerwise outer products, vmap fallback) against one backward pass per example.

The reference is :func:`companion.landscape.gradients.loop_grads`, which shares no code with
either path; float64 throughout, so agreement is to rounding (1e-12 of the largest entry).
"""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, jacrev

from companion.landscape import gradients as gr
from companion.landscape import layerwise
from companion.nn import cnn, flat_params, mlp

DT = torch.float64


def _cnn_mixed():
    """Two convs with stride, padding, dilation, a non-square kernel and no bias; dropout, pooling, a linear head."""
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Dropout(0.5),
        nn.Conv2d(3, 4, (2, 3), stride=(1, 2), padding=(1, 0), dilation=(1, 2), bias=False), nn.Tanh(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 5), nn.GELU(), nn.Linear(5, 3, bias=False)).to(DT)


class Tied(nn.Module):
    """One Linear layer called twice, and a weight tied between two layers: the uses add up."""

    def __init__(self):
        super().__init__()
        self.first, self.shared, self.last = nn.Linear(6, 4), nn.Linear(4, 4), nn.Linear(4, 3)
        self.again = nn.Linear(4, 4, bias=False)
        self.again.weight = self.shared.weight

    def forward(self, x):
        h = torch.tanh(self.shared(torch.tanh(self.first(x))))
        return self.last(torch.tanh(self.again(torch.tanh(self.shared(h)))))


class Unused(nn.Module):
    """A layer the forward pass never calls: its gradients are zero."""

    def __init__(self):
        super().__init__()
        self.used, self.idle = nn.Linear(6, 3), nn.Linear(6, 3)

    def forward(self, x):
        return self.used(x)


class Scaled(nn.Linear):
    """A Linear subclass with its own forward: not the outer form, so it takes the vmap path."""

    def forward(self, x):
        return 2 * super().forward(x) ** 2


LAYERWISE = {  # name: (model, input shape)
    "mlp-tanh": (lambda: mlp(6, [5, 4], 3, activation="tanh", seed=1, dtype=DT), (6,)),
    "mlp-relu-flattening-its-input": (lambda: mlp(6, [7], 3, seed=2, dtype=DT), (2, 3)),
    "cnn": (lambda: cnn((2, 13, 13), [3, 4], 3, seed=1, dtype=DT), (2, 13, 13)),
    "cnn-mixed": (_cnn_mixed, (2, 13, 13)),
    "linear-over-a-sequence": (lambda: nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Flatten(), nn.Linear(8, 3)).to(DT),
                               (2, 3)),
    "tied-and-reused": (lambda: Tied().to(DT), (6,)),
    "grouped-conv": (lambda: nn.Sequential(nn.Conv2d(4, 6, 3, groups=2), nn.Conv2d(6, 3, 1, groups=3), nn.Flatten(),
                                           nn.Linear(3, 3)).to(DT), (4, 3, 3)),
}
FALLBACK = {
    "layer-norm": (lambda: nn.Sequential(nn.Linear(6, 5), nn.LayerNorm(5), nn.Tanh(), nn.Linear(5, 3)).to(DT), (6,)),
    "linear-subclass": (lambda: nn.Sequential(Scaled(6, 4), nn.Linear(4, 3)).to(DT), (6,)),
    "reflect-padded-conv": (lambda: nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect"), nn.Flatten(),
                                                  nn.Linear(18, 3)).to(DT), (2, 3, 3)),
    "batch-norm": (lambda: cnn((1, 6, 6), [3], 3, seed=1, dtype=DT, batch_norm=True), (1, 6, 6)),
}


def _data(shape=(6,), n=9, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=gen, dtype=DT), torch.arange(n) % 3


def _with_running_stats(model, X):
    """Give every batch-norm layer running statistics far from the defaults (0 mean, unit variance)."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(3 * X + 1)
    return model


def _close(G, L):
    return (G - L).abs().max() <= 1e-12 * L.abs().max()


@pytest.mark.parametrize("name", sorted(LAYERWISE) + sorted(FALLBACK))
def test_both_paths_equal_the_loop_at_any_chunk_for_losses_and_logits(name):
    build, shape = {**LAYERWISE, **FALLBACK}[name]
    model, (X, y) = build(), _data(shape)
    assert layerwise.supports(model) == (name in LAYERWISE)
    model.train()  # dropout off and running statistics used whatever mode the model is left in
    for fn in (gr.cross_entropy, gr.logit):
        L = gr.loop_grads(model, X, y, fn=fn)
        assert L.abs().max() > 1e-3
        for chunk in (None, 1, 4):
            assert _close(gr.per_example_grads(model, X, y, fn=fn, chunk=chunk), L), (fn.__name__, chunk)
    assert all(m.training for m in model.modules())  # the caller's modes are restored
    with torch.no_grad():  # the caller's autograd switch does not matter either
        assert _close(gr.per_example_grads(model, X, y), gr.loop_grads(model, X, y))


def test_a_tied_weight_is_counted_once_and_an_unused_layer_gets_zeros():
    X, y = _data((6,))
    model = Tied().to(DT)
    assert gr.per_example_grads(model, X, y).shape == (9, gr.n_params(model)) == (9, 28 + 20 + 15)
    idle = Unused().to(DT)
    G = gr.per_example_grads(idle, X, y)
    assert torch.equal(G[:, 21:], torch.zeros(9, 21, dtype=DT))
    assert _close(G[:, :21], gr.loop_grads(idle.used, X, y))  # the loop refuses parameters outside the graph


def test_frozen_parameters_are_left_out_on_both_paths():
    X, y = _data((6,))
    for model in (mlp(6, [5], 3, seed=1, dtype=DT), mlp(6, [5], 3, seed=1, dtype=DT, batch_norm=True)):
        model[1].weight.requires_grad_(False)
        G = gr.per_example_grads(model, X, y)
        assert G.shape == (9, gr.n_params(model)) and _close(G, gr.loop_grads(model, X, y))
    for p in model.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameters that require grad"):
        gr.per_example_grads(model, X, y)


def test_iterated_chunks_are_the_rows_of_the_whole_matrix():
    X, y = _data((2, 13, 13), n=10)
    model = _cnn_mixed()
    whole = gr.per_example_grads(model, X, y, chunk=4)
    chunks = list(gr.iter_per_example_grads(model, X, y, chunk=4))
    assert [(a, b) for a, b, _ in chunks] == [(0, 4), (4, 8), (8, 10)]
    assert torch.equal(torch.cat([G for _, _, G in chunks]), whole)


def test_layerwise_memory_estimate_counts_the_row_the_conv_weights_twice_and_the_activations():
    model = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(147, 4)).to(DT)
    X, _ = _data((2, 13, 13), n=50)
    A = 3 * 49 * 3 + 4  # conv, relu, flatten outputs (13 -> 7 with stride 2); the logits
    assert gr.activation_numel(model, X[0]) == A
    per = gr.layerwise_bytes_per_example(model, X[0])
    assert per == (gr.n_params(model) + 2 * 3 * 2 * 9 + gr.ACTIVATION_COPIES * A) * 8
    budget = 7 * per + 1
    assert [b - a for a, b, _ in gr.iter_per_example_grads(model, X[:20], memory_budget=budget)] == [7, 7, 6]
    vmapped = nn.Sequential(nn.Flatten(), nn.Linear(338, 4), nn.LayerNorm(4)).to(DT)  # the vmap path: its estimate
    per = gr.bytes_per_example(vmapped, X[0])
    assert [b - a for a, b, _ in gr.iter_per_example_grads(vmapped, X[:20], memory_budget=9 * per)] == [9, 9, 2]


MODELS = {
    "mlp": lambda: mlp(6, [5, 4], 3, activation="tanh", seed=1, dtype=DT),
    "mlp-bn": lambda: mlp(6, [5, 4], 3, activation="relu", seed=1, dtype=DT, batch_norm=True),
    "cnn-bn": lambda: cnn((1, 6, 6), [3, 4], 3, seed=1, dtype=DT, batch_norm=True),
}


@pytest.mark.parametrize("name", MODELS)
def test_per_example_gradients_equal_the_loop(name):  # mlp: layerwise; with batch norm: vmap
    X, y = _data(shape=(1, 6, 6) if name.startswith("cnn") else (6,))
    model = MODELS[name]()
    if "bn" in name:
        _with_running_stats(model, X)
    model.train()  # gradients are those of eval mode whatever mode the model is left in
    G = gr.per_example_grads(model, X, y, chunk=4)
    L = gr.loop_grads(model, X, y)
    assert G.shape == (len(X), flat_params(model).numel())
    assert torch.allclose(G, L, rtol=0, atol=1e-6)
    assert (G - L).abs().max() < 1e-12  # float64: equal to rounding
    assert model.training  # the caller's mode is restored


def test_per_example_gradients_of_softmax_regression_are_the_closed_form():
    # logits = W x + b; d CE / dW = (p - e_y) x^T, d CE / db = p - e_y, for each example alone
    X, y = _data(n=5, shape=(4,))
    model = nn.Sequential(nn.Linear(4, 3)).to(DT)
    G = gr.per_example_grads(model, X, y)
    P = torch.softmax(model(X), dim=1) - F.one_hot(y, 3).to(DT)
    expected = torch.cat([(P[:, :, None] * X[:, None, :]).reshape(5, -1), P], dim=1)
    assert torch.allclose(G, expected, atol=1e-14)


def test_batch_norm_uses_running_statistics_and_leaves_them_alone():
    X, y = _data()
    model = _with_running_stats(MODELS["mlp-bn"](), X)
    before = {k: v.clone() for k, v in model.named_buffers()}
    G = gr.per_example_grads(model, X, y)
    for k, v in model.named_buffers():
        assert torch.equal(v, before[k]), k
    # each example's gradient is that of the example alone: the same with the others removed
    assert torch.allclose(gr.per_example_grads(model, X[3:4], y[3:4]), G[3:4], atol=1e-14)


def test_chunking_does_not_change_the_result():
    X, y = _data(n=11)
    model = MODELS["mlp"]()
    full = gr.per_example_grads(model, X, y, chunk=11)
    for chunk in (1, 3, 5):
        assert torch.allclose(gr.per_example_grads(model, X, y, chunk=chunk), full, rtol=0, atol=1e-15)


def test_chunk_size_keeps_the_estimate_within_the_budget():
    X, _ = _data(n=50)
    model = MODELS["mlp"]()
    per = gr.bytes_per_example(model, X[0])
    D, A = gr.n_params(model), 6 + 5 + 5 + 4 + 4 + 3  # leaf outputs: flatten, linear, tanh, linear, tanh, linear
    assert per == (gr.GRADIENT_COPIES * D + gr.ACTIVATION_COPIES * A) * 8
    assert gr.chunk_size(model, X, 7 * per + 1) == 7
    assert gr.chunk_size(model, X, 1) == 1  # never below one example
    assert gr.chunk_size(model, X, 10**12) == 50
    with pytest.raises(ValueError, match="memory_budget"):
        gr.chunk_size(model, X, 0)


@pytest.mark.parametrize("budget", [1, 10**9])
def test_gram_matrix_blockwise_equals_the_full_product(budget):
    X, y = _data(n=10)
    X2, y2 = _data(n=7, seed=5)
    model = MODELS["mlp"]()
    G, G2 = gr.loop_grads(model, X, y), gr.loop_grads(model, X2, y2)
    assert torch.allclose(gr.per_example_gram(model, X, y, memory_budget=budget), G @ G.T, atol=1e-12)
    assert torch.allclose(gr.per_example_gram(model, X, y, X2, y2, memory_budget=budget), G @ G2.T, atol=1e-12)


def test_per_logit_gradients_are_jacobian_rows():
    X, _ = _data(n=4)
    model = MODELS["mlp"]().eval()
    params = {k: v.detach() for k, v in model.named_parameters()}
    for k in range(3):
        G = gr.per_example_grads(model, X, torch.full((4,), k), fn=gr.logit)
        for i in range(4):
            jac = jacrev(lambda p, i=i, k=k: functional_call(model, p, (X[i:i + 1],))[0, k])(params)
            assert torch.allclose(G[i], torch.cat([j.reshape(-1) for j in jac.values()]), atol=1e-13)


def test_load_checkpoint_sets_parameters_and_recomputes_batch_norm_statistics():
    X, _ = _data(n=20)
    model = _with_running_stats(MODELS["mlp-bn"](), X)
    theta = flat_params(model) * 0.5
    gr.load_checkpoint(model, theta, X)
    assert torch.equal(flat_params(model), theta)
    bn = model[2]  # Flatten, Linear, BatchNorm1d, ...
    h = model[1](X).detach()
    assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-12)
    assert torch.allclose(bn.running_var, h.var(0, unbiased=True), atol=1e-12)
    with pytest.raises(ValueError, match="X_stats"):
        gr.load_checkpoint(model, theta)


def test_wrong_number_of_targets_is_refused():
    X, y = _data()
    with pytest.raises(ValueError, match="one target per example"):
        gr.per_example_grads(MODELS["mlp"](), X, y[:-1])
