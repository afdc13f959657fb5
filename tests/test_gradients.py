"""Per-example gradients on both paths (layerwise outer products, vmap fallback) against one backward pass per example.

The reference is :func:`companion.landscape.gradients.loop_grads`, which shares no code with
either path; float64 throughout, so agreement is to rounding (1e-12 of the largest entry).
"""

import pytest
import torch
from torch import nn

from companion.landscape import gradients as gr
from companion.landscape import layerwise
from companion.nn import cnn, mlp

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


def _data(shape, n=9, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=gen, dtype=DT), torch.arange(n) % 3


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
