"""Model builders, the hyperplane wrapper and the recording training loop."""

import math

import pytest
import torch

from companion.nn import HyperplaneModel, flat_params, mlp, cnn, train, unflatten


def test_init_scale_scales_the_radius_exactly():
    r1 = flat_params(mlp(10, (8, 8), 3, init="xavier", seed=4)).norm()
    r3 = flat_params(mlp(10, (8, 8), 3, init="xavier", init_scale=3.0, seed=4)).norm()
    assert torch.isclose(r3, 3 * r1, rtol=1e-6)


@pytest.mark.parametrize("init, var", [("lecun", 1 / 400), ("kaiming", 2 / 400), ("xavier", 2 / 600), ("torch", 1 / 1200)])
def test_named_inits_have_their_variance(init, var):
    w = mlp(400, (200,), 2, init=init, seed=0)[1].weight
    assert w.var().item() == pytest.approx(var, rel=0.03)


def test_same_seed_same_model_and_no_global_rng():
    torch.manual_seed(0)
    a = flat_params(cnn((1, 8, 8), (4,), 3, seed=1))
    torch.manual_seed(99)
    b = flat_params(cnn((1, 8, 8), (4,), 3, seed=1))
    assert torch.equal(a, b)


def test_bad_choices_are_named():
    with pytest.raises(ValueError, match="activation='sigmoid'.*'relu'"):
        mlp(4, (4,), 2, activation="sigmoid")
    with pytest.raises(ValueError, match="init='he'"):
        mlp(4, (4,), 2, init="he")


def test_unflatten_round_trip_and_size_check():
    model = mlp(5, (3,), 2)
    theta = flat_params(model)
    parts = unflatten(model, theta)
    assert torch.equal(torch.cat([v.reshape(-1) for v in parts.values()]), theta)
    with pytest.raises(ValueError, match="theta has 3 entries"):
        unflatten(model, theta[:3])


def _blobs(n=200, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    X = torch.randn(n, 4, generator=gen) + 3 * y[:, None]
    return X, y


def test_training_records_a_decreasing_trajectory_and_checkpoints():
    X, y = _blobs()
    model = mlp(4, (8,), 2, seed=0)
    traj = train(model, X, y, lr=0.1, steps=50, eval_every=10, checkpoint_every=25, target_loss=0.3)
    assert list(traj.history["step"]) == [0, 10, 20, 30, 40, 50]
    assert traj.history["train_loss"].iloc[-1] < traj.history["train_loss"].iloc[0]
    assert [s for s, _ in traj.checkpoints] == [0, 25, 50]
    assert torch.equal(traj.checkpoints[-1][1], flat_params(model))
    assert traj.outcome == "completed" and traj.steps_to_target is not None
    reached = traj.history.loc[traj.history["train_loss"] <= 0.3, "step"].min()
    assert traj.steps_to_target == reached


def test_training_is_deterministic_with_minibatches():
    X, y = _blobs()
    runs = [train(mlp(4, (8,), 2, seed=0), X, y, lr=0.1, batch_size=16, epochs=2, seed=5).history for _ in range(2)]
    assert runs[0].equals(runs[1])


def test_divergence_is_an_outcome_not_a_crash():
    X, y = _blobs()
    traj = train(mlp(4, (64, 64), 2, init_scale=5.0), X, y, lr=1e6, steps=100, eval_every=1)
    assert traj.outcome == "diverged"
    assert not math.isfinite(traj.history["train_loss"].iloc[-1])
    assert traj.history["step"].iloc[-1] < 100


def test_l2_penalty_shrinks_the_weights():
    X, y = _blobs()
    plain = flat_params(_trained(X, y, 0.0)).norm()
    decayed = flat_params(_trained(X, y, 1.0)).norm()
    assert decayed < 0.5 * plain


def _trained(X, y, l2):
    model = mlp(4, (8,), 2, seed=0)
    train(model, X, y, optimizer="adam", lr=0.05, steps=300, l2=l2)
    return model


def test_bad_training_arguments_are_refused_before_compute():
    X, y = _blobs()
    with pytest.raises(ValueError, match="optimizer='rmsprop'"):
        train(mlp(4, (8,), 2), X, y, optimizer="rmsprop", steps=1)
    with pytest.raises(ValueError, match="exactly one of steps= or epochs="):
        train(mlp(4, (8,), 2), X, y)
    with pytest.raises(ValueError, match="batch_size=1000"):
        train(mlp(4, (8,), 2), X, y, batch_size=1000, steps=1)


def test_hyperplane_model_starts_at_the_offset_and_moves_only_in_the_subspace():
    X, y = _blobs()
    base = mlp(4, (8,), 2, seed=0)
    P = flat_params(base)
    M = torch.linalg.qr(torch.randn(P.numel(), 3, generator=torch.Generator().manual_seed(0)))[0]
    model = HyperplaneModel(base, P, M)
    assert torch.allclose(model(X), base(X))
    train(model, X, y, optimizer="adam", lr=0.1, steps=30)
    step = model.theta().detach() - P
    assert torch.allclose(M @ (M.T @ step), step, atol=1e-5)  # the move lies in span(M)
    assert torch.equal(flat_params(base), P)  # the base model is untouched


def test_batch_norm_layers_start_at_identity_times_the_scale():
    model = cnn((1, 8, 8), (4,), 3, batch_norm=True, init_scale=2.0, seed=0)
    bn = model[1]
    assert isinstance(bn, torch.nn.BatchNorm2d) and torch.equal(bn.weight, torch.full((4,), 2.0))
    assert torch.equal(bn.bias, torch.zeros(4))
    plain = mlp(4, (6,), 2, seed=0)
    normed = mlp(4, (6,), 2, seed=0, batch_norm=True)
    assert isinstance(normed[2], torch.nn.BatchNorm1d)
    assert torch.equal(normed[1].weight, plain[1].weight)  # same draws for the linear layers


def test_in_mode_sets_every_module_and_gives_each_its_own_mode_back():
    from companion.nn import in_mode

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2), torch.nn.Dropout(0.5))
    model[1].eval()  # a mixed state, as a caller may leave it
    before = [m.training for m in model.modules()]
    for training in (False, True):
        with in_mode(model, training):
            assert all(m.training == training for m in model.modules())
        assert [m.training for m in model.modules()] == before
    with pytest.raises(RuntimeError), in_mode(model, True):
        raise RuntimeError("a failure inside")
    assert [m.training for m in model.modules()] == before
