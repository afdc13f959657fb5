"""The m >= 3 connectors (SimplexConnector) and connector evaluation, on cases with exact answers.

The pair connectors (Connector, connect_pair, connect_star) are tested with notebook 09 in test_function_space.py.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.landscape import connectors as C
from companion.nn import flat_params
from torch import nn


def _ends(m=3, D=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(D, generator=gen) for _ in range(m)]


def test_every_face_passes_through_its_end_and_the_shared_points_exactly():
    ends = _ends(4)
    conn = C.connect_simplex(ends, k=2, spread=0.5, seed=1)
    assert conn.faces == [(0, 4, 5), (1, 4, 5), (2, 4, 5), (3, 4, 5)]
    for face, end in enumerate(ends):
        assert torch.equal(conn.point([1.0, 0.0, 0.0], face).detach(), end)
        assert torch.equal(conn.point([0.0, 1.0, 0.0], face).detach(), conn.bends.detach()[0])
        assert torch.equal(conn.point([0.0, 0.0, 1.0], face).detach(), conn.bends.detach()[1])
        mid = conn.point([0.5, 0.25, 0.25], face).detach()
        assert mid == pytest.approx(0.5 * end + 0.25 * conn.bends.detach().sum(0), abs=1e-6)
    path = conn.pair_path(0, 3, [0.0, 0.5, 1.0])
    assert torch.equal(path[0], ends[0]) and torch.equal(path[2], ends[3])
    assert path[1] == pytest.approx(conn.bends.detach().mean(0))
    with pytest.raises(ValueError, match="must be 3 numbers >= 0 summing to 1"):
        conn.point([0.5, 0.5], 0)


def test_a_one_point_simplex_is_a_star_started_at_the_centroid():
    ends = _ends(3)
    conn = C.connect_simplex(ends, k=1)
    assert conn.faces == [(0, 3), (1, 3), (2, 3)]
    assert conn.bends.detach()[0] == pytest.approx(torch.stack(ends).mean(0))
    with pytest.raises(ValueError, match="k=2 shared points need spread > 0"):
        C.connect_simplex(ends, k=2)


def test_samples_are_uniform_points_of_uniformly_chosen_faces():
    conn = C.connect_simplex(_ends(3, D=2), k=2, spread=1.0)
    gen = torch.Generator().manual_seed(0)
    faces = [conn.sample(gen)[1]["face"] for _ in range(3000)]
    assert np.bincount(faces).tolist() == pytest.approx([1000] * 3, abs=100)
    # the weight of the end under a flat Dirichlet(1, 1, 1) has mean 1/3 and P(w > 1/2) = (1/2)^2
    gen = torch.Generator().manual_seed(1)
    w_end = []
    for _ in range(4000):
        theta, where = conn.sample(gen)
        V = conn.nodes(where["face"]).detach().double()
        w = torch.linalg.lstsq(torch.cat([V.T, torch.ones(1, 3, dtype=torch.float64)]),
                               torch.cat([theta.detach().double(), torch.ones(1, dtype=torch.float64)])).solution
        w_end.append(w[0].item())
    w_end = np.array(w_end)
    assert w_end.min() > -1e-4 and w_end.mean() == pytest.approx(1 / 3, abs=0.02)
    assert (w_end > 0.5).mean() == pytest.approx(0.25, abs=0.025)


def test_connector_sampling_keeps_the_random_stream_of_the_pair_connectors():
    """Notebook 09's numbers depend on train_connector drawing a path, then t, then the batch."""
    conn = C.connect_star(_ends(3))
    gen, ref = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    theta, where = conn.sample(gen)
    path = int(torch.randint(3, (), generator=ref))
    t = torch.rand((), generator=ref).item()
    assert where == {"path": path, "t": t}
    assert torch.equal(theta, conn.point(t, path))
    assert torch.equal(gen.get_state(), ref.get_state())


def test_simplex_grid_counts_and_weights():
    grid = C.simplex_grid(2, 5)  # a triangle with 5 points per edge: 15 points
    assert grid.shape == (math.comb(4 + 2, 2), 3)
    assert torch.allclose(grid.sum(1), torch.ones(15, dtype=torch.float64))
    assert {tuple(r) for r in grid.tolist()} >= {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)}
    assert C.simplex_grid(1, 3).tolist() == [[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]


def test_barrier_is_the_rise_above_the_higher_end():
    assert C.barrier([0.2, 0.9, 0.4], [0.2, 0.4]) == pytest.approx(0.5)
    assert C.barrier([0.3, 0.1, 0.2], [0.3, 0.2]) == 0.0


def _logistic_problem():
    """Multinomial logistic regression: the mean cross-entropy is convex in the parameters."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(300, 4, generator=gen)
    y = (X[:, :3] + 0.5 * torch.randn(300, 3, generator=gen)).argmax(1)
    model = nn.Sequential(nn.Linear(4, 3))
    ends = []
    for seed in range(3):  # three partly trained solutions from different starts: different losses and places
        torch.manual_seed(seed)
        net = nn.Sequential(nn.Linear(4, 3))
        with torch.no_grad():
            for q in net.parameters():
                q.mul_(0).add_(3 * torch.randn_like(q))
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for _ in range(10 + 20 * seed):
            opt.zero_grad()
            F.cross_entropy(net(X), y).backward()
            opt.step()
        ends.append(flat_params(net))
    return model, X, y, ends


@pytest.mark.parametrize("k", [1, 2])
def test_a_connector_trained_on_a_convex_loss_stays_below_its_highest_end(k):
    model, X, y, ends = _logistic_problem()
    before = flat_params(model)
    losses, _ = C.evaluate_points(model, torch.stack(ends), X, y)
    far = [torch.stack(ends).mean(0) + 6 * torch.randn(len(ends[0]), generator=torch.Generator().manual_seed(j))
           for j in range(k)]  # shared points started where the loss is far above every end
    conn = C.SimplexConnector(ends, far)
    start = C.evaluate_connector(model, conn, X, y, resolution=6)
    assert start.loss.max() > losses.max() + 1.0
    hist = C.train_connector(model, conn, X, y, steps=600, lr=0.05, batch_size=100, seed=0)
    assert list(hist.columns) == ["step", "face", "loss"] and set(hist.face) == {0, 1, 2}
    table = C.evaluate_connector(model, conn, X, y, resolution=6)
    assert len(table) == 3 * math.comb(5 + k, k)
    ends_at = table[table.w_end == 1.0].sort_values("face")
    assert ends_at.loss.to_numpy() == pytest.approx(losses, rel=1e-6)  # the faces still start at the ends
    assert table.loss.max() <= losses.max() + 1e-6
    assert torch.equal(conn.ends, torch.stack(ends)) and torch.equal(flat_params(model), before)


def test_evaluate_connector_on_paths_matches_the_loss_at_each_point():
    model, X, y, ends = _logistic_problem()
    lines = C.Connector(ends, [], [(0, 1), (1, 2)])
    table = C.evaluate_connector(model, lines, X, y, resolution=5)
    assert list(table.columns) == ["path", "t", "loss", "acc"] and len(table) == 10
    row = table[(table.path == 1) & (table.t == 0.25)].iloc[0]
    theta = 0.75 * ends[1] + 0.25 * ends[2]
    out = torch.func.functional_call(model, {"0.weight": theta[:12].view(3, 4), "0.bias": theta[12:]}, (X,))
    assert row.loss == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-5)
    assert row.acc == pytest.approx((out.argmax(1) == y).double().mean().item())


def test_training_stops_at_a_non_finite_loss_after_recording_it():
    model, X, y, ends = _logistic_problem()
    conn = C.connect_pair(ends[0], ends[1])
    with torch.no_grad():
        conn.bends.fill_(float("inf"))
    hist = C.train_connector(model, conn, X, y, steps=50, lr=0.05, batch_size=100, seed=0)
    assert len(hist) == 1 and not math.isfinite(hist.loss.iloc[0])  # diverged at step 0: no step taken
    assert torch.isinf(conn.bends).all()
