"""Notebook 03's hypersphere training and input-scale panel, on cases small enough to check exactly."""

from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from torch import nn

from companion.experiments import goldilocks_zone as gz
from companion.experiments.goldilocks_zone.inputs import scaled
from companion.nn.hyperplane import HypersphereModel


def _line():
    """y = w x + b with (w, b) the two parameters, in float64."""
    return nn.Linear(1, 1).double()


def test_the_hypersphere_is_the_plane_pushed_radially_onto_the_offsets_radius():
    P, M = torch.tensor([3.0, 4.0], dtype=torch.float64), torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    model = HypersphereModel(_line(), P, M)
    assert model.theta().tolist() == [3.0, 4.0]  # x = 0: the offset itself
    with torch.no_grad():
        model.x.fill_(1.0)  # P + M x = (4, 4), pushed onto the sphere of radius 5: (5, 5) / sqrt(2)
    assert model.theta().tolist() == pytest.approx([5 / 2 ** 0.5, 5 / 2 ** 0.5], rel=1e-12)
    out = model(torch.tensor([[2.0]], dtype=torch.float64))
    assert out.item() == pytest.approx(3 * 5 / 2 ** 0.5, rel=1e-12)  # w * 2 + b


def test_input_statistics_and_the_scaled_copy():
    X = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    data = SimpleNamespace(X_train=X, split=lambda which, device, dtype: (X.to(dtype), None))
    first = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        first.weight.copy_(torch.eye(2))
    stats = gz.input_statistics(data, SimpleNamespace(device="cpu"), nn.Sequential(first))
    assert stats == pytest.approx({"mean_square_norm": 7.0, "first_layer_variance": 3.5})  # (5 + 9) / 2, 14 / 4
    ref = gz.mnist_reference()
    assert ref["mean_square_norm"] == pytest.approx(784 * (0.3081 ** 2 + 0.1307 ** 2))
    assert ref["first_layer_variance"] == pytest.approx(2 * ref["mean_square_norm"] / 984)


def test_scaled_multiplies_every_input_and_keeps_the_labels():
    data = gz.load_data(SimpleNamespace(dataset="digits", n_train=60, n_test=50, seed=0, widths=[3],
                                        activations=["relu"], init="xavier", device="cpu", subspace_dim=2,
                                        train_dims=[2]))
    double = scaled(data, 2.0)
    assert torch.equal(double.X_train, 2 * data.X_train) and torch.equal(double.X_test, 2 * data.X_test)
    assert torch.equal(double.y_train, data.y_train)


def test_panel_shells_use_the_half_maximum_rule_per_input_scale():
    panel = pd.DataFrame({"input_scale": [0.5] * 4 + [2.0] * 4, "scale": [0.1, 1.0, 2.0, 10.0] * 2,
                          "gamma": [0.1, 0.6, 0.2, 0.2, 0.1, 0.2, 0.3, 0.9]})
    assert gz.panel_shells(panel) == {0.5: [1.0], 2.0: []}  # level (0.6 + 0.2) / 2 = 0.4; a peak at an end


def test_sphere_runs_keep_their_radius_and_plane_runs_record_where_they_end():
    p = SimpleNamespace(dataset="digits", n_train=60, n_test=50, seed=0, widths=[3], activations=["relu"],
                        init="xavier", device="cpu", subspace_dim=2, subspace_kind="orthonormal",
                        train_scales=[0.5, 2.0], train_dims=[4], train_seeds=1, train_steps=20, train_lr=0.1)
    hyper = gz.hyperplane_training(gz.load_data(p), p)
    assert sorted(hyper.surface.unique()) == ["plane", "sphere"] and len(hyper) == 4
    sphere, plane = hyper[hyper.surface == "sphere"], hyper[hyper.surface == "plane"]
    assert (sphere.end_radius / sphere.radius - 1).abs().max() < 1e-12
    assert (plane.end_radius != plane.radius).all()
