"""Function-space metrics, subspace samplers, connectors, dataset shift and the deep-ensembles experiment
functions, each on a case small enough to work out by hand."""

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from companion.data import shift
from companion.experiments import deep_ensembles as paper
from companion.landscape import connectors
from companion.landscape import function_space as fs
from companion.nn import flat_params, n_parameters
from companion.params import ParameterError


# --- weights and predictions -------------------------------------------------------------------------------------


def test_cosine_matrix_and_distances_on_hand_vectors():
    r = 1 / math.sqrt(2)
    got = fs.cosine_matrix(torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 0.0]]))
    want = [[1, 0, r, -1], [0, 1, r, 0], [r, r, 1, -r], [-1, 0, -r, 1]]
    assert got == pytest.approx(np.array(want), abs=1e-12)
    with pytest.raises(ValueError, match="zero length"):
        fs.cosine_matrix(torch.zeros(2, 3))
    thetas = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])  # and distances from one of them
    assert np.allclose(fs.distances(thetas, thetas[0]), [0.0, 5.0, math.sqrt(4 + 4 + 4)])


def test_disagreement_from_labels_and_from_probabilities():
    labels = np.array([[0, 1, 2, 3], [0, 1, 0, 0], [1, 1, 2, 3]])
    want = np.array([[0, 0.5, 0.25], [0.5, 0, 0.75], [0.25, 0.75, 0]])
    assert fs.disagreement_matrix(labels) == pytest.approx(want)
    probs = np.eye(4)[labels] * 0.7 + 0.075  # argmax unchanged
    assert fs.disagreement_matrix(probs) == pytest.approx(want)
    assert fs.disagreement(labels[0], probs[2]) == 0.25


# --- the two analytic curves -------------------------------------------------------------------------------------


def test_both_curves_at_known_points():
    ref, C = 0.71, 10
    assert fs.lower_limit(ref, ref, C) == pytest.approx(0.0)  # the reference itself
    assert fs.lower_limit(0.5, ref, C) == pytest.approx(0.21 / (0.71 - 0.29 / 9))  # 0.309836
    assert fs.upper_limit(0.5, ref, C) == pytest.approx(0.355 + 0.145 + 0.29 * 0.5 * 8 / 9)  # 0.628889
    # both curves meet at chance accuracy, where any classifier disagrees with the reference on (C-1)/C
    assert fs.lower_limit(1 / C, ref, C) == pytest.approx(0.9)
    assert fs.upper_limit(1 / C, ref, C) == pytest.approx(0.9)
    # two classes: independent classifiers disagree exactly when one of them is wrong
    assert fs.upper_limit(0.8, 0.9, 2) == pytest.approx(0.9 * 0.2 + 0.8 * 0.1)
    # a perfect pair never disagrees; the closed form 1 - [a_ref a + (1-a_ref)(1-a)/(C-1)]
    assert fs.upper_limit(1.0, 1.0, C) == pytest.approx(0.0)
    a = np.linspace(0.1, 0.9, 9)
    assert fs.upper_limit(a, 0.6, 7) == pytest.approx(1 - (0.6 * a + 0.4 * (1 - a) / 6))


def test_curves_are_the_disagreement_of_simulated_classifiers():
    """Upper: an independent classifier with uniform errors; lower: the reference with a fraction f of its
    predictions replaced by uniformly random classes."""
    rng, N, C, ref = np.random.default_rng(0), 400_000, 10, 0.7
    y = rng.integers(C, size=N)

    def classifier(acc):
        wrong = (y + rng.integers(1, C, size=N)) % C
        return np.where(rng.random(N) < acc, y, wrong)

    base = classifier(ref)
    other = classifier(0.55)
    assert np.mean(other == y) == pytest.approx(0.55, abs=0.003)
    assert np.mean(other != base) == pytest.approx(fs.upper_limit(0.55, ref, C), abs=0.003)
    f = 0.3
    perturbed = np.where(rng.random(N) < f, rng.integers(C, size=N), base)
    acc = np.mean(perturbed == y)
    assert acc == pytest.approx(ref - f * (ref - 1 / C), abs=0.003)
    assert np.mean(perturbed != base) == pytest.approx(fs.lower_limit(acc, np.mean(base == y), C), abs=0.003)


def test_plane_curves_and_curve_position():
    curves = fs.plane_curves(0.8, 10, accs=[0.8, 0.1])
    assert curves.lower.tolist() == pytest.approx([0.0, 0.9 / 0.9])
    assert curves.upper.tolist() == pytest.approx([fs.upper_limit(0.8, 0.8, 10) / 0.2, 1.0])
    a = np.array([0.3, 0.5, 0.7])
    assert fs.curve_position(a, fs.lower_limit(a, 0.8, 10), 0.8, 10) == pytest.approx([0, 0, 0])
    assert fs.curve_position(a, fs.upper_limit(a, 0.8, 10), 0.8, 10) == pytest.approx([1, 1, 1])
    assert np.isnan(fs.curve_position(0.1, 0.9, 0.8, 10))  # the curves meet at chance
    with pytest.raises(ValueError, match="n_classes"):
        fs.lower_limit(0.5, 0.7, 1)


def test_diversity_plane_on_a_hand_case():
    y, base = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])
    plane = fs.diversity_plane(np.array([[0, 0, 1, 0], [1, 1, 1, 1], [0, 0, 1, 1]]), y, base)
    assert plane.accuracy.tolist() == [0.75, 0.5, 1.0]
    assert plane.disagreement.tolist() == [0.5, 0.25, 0.25]
    assert plane.diversity.tolist()[:2] == [2.0, 0.5]
    assert np.isnan(plane.diversity.iloc[2])  # perfect accuracy: the ratio is undefined


# --- uncertainty metrics and ensembles ---------------------------------------------------------------------------


def test_brier_score_summed_over_classes():
    assert fs.brier_score(np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([0, 1])) == pytest.approx(0.25)
    assert fs.brier_score(np.array([[0.0, 1.0]]), np.array([0])) == pytest.approx(2.0)  # confidently wrong
    assert fs.brier_score(np.full((3, 10), 0.1), np.array([0, 4, 9])) == pytest.approx(0.9)  # uniform: 1 - 1/C
    batch = fs.brier_score(np.array([[[1.0, 0.0]], [[0.0, 1.0]]]), np.array([0]))
    assert batch.tolist() == pytest.approx([0.0, 2.0])


def test_entropy_and_jensen_shannon_use_log_p_plus_1e5():
    p = np.array([0.25, 0.75])
    assert fs.entropy(p) == pytest.approx(-(0.25 * np.log(0.25001) + 0.75 * np.log(0.75001)))
    same = np.tile(np.array([[[0.2, 0.8], [0.6, 0.4]]]), (3, 1, 1))
    assert fs.jensen_shannon(same) == pytest.approx(0.0, abs=1e-15)
    opposite = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])  # two confident models that disagree
    want = -np.log(0.5 + 1e-5) + np.log(1 + 1e-5)
    assert fs.jensen_shannon(opposite) == pytest.approx(want)
    assert want == pytest.approx(math.log(2), abs=1e-4)


def test_k_subsets_all_or_a_seeded_selection():
    assert fs.k_subsets(4, 2) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    some = fs.k_subsets(30, 5, max_subsets=7, seed=3)
    assert len(some) == len(set(some)) == 7 and all(list(s) == sorted(s) for s in some)
    assert some == fs.k_subsets(30, 5, max_subsets=7, seed=3)
    with pytest.raises(ValueError, match="between 1 and the n=3"):
        fs.k_subsets(3, 4)


def test_ensemble_metrics_average_over_every_subset():
    p1 = [[0.9, 0.1], [0.4, 0.6]]
    p2 = [[0.3, 0.7], [0.2, 0.8]]
    table = fs.ensemble_metrics(np.array([p1, p2]), np.array([0, 0])).set_index("size")
    # singles: accuracy 0.5 and 0, Brier (0.02 + 0.72)/2 and (0.98 + 1.28)/2
    assert table.loc[1, "accuracy"] == pytest.approx(0.25)
    assert table.loc[1, "brier"] == pytest.approx((0.37 + 1.13) / 2)
    # the pair averages to [[0.6, 0.4], [0.3, 0.7]]
    assert table.loc[2, "accuracy"] == pytest.approx(0.5)
    assert table.loc[2, "brier"] == pytest.approx((0.32 + 0.98) / 2)
    assert table.subsets.tolist() == [2, 1]


def test_ensemble_examples_on_a_hand_case_and_against_the_other_definitions():
    p1 = [[0.9, 0.1], [0.4, 0.6]]
    p2 = [[0.6, 0.4], [0.7, 0.3]]
    ex = fs.ensemble_examples(np.log(np.array([p1, p2])), np.array([0, 0]))
    # the ensemble averages to [[0.75, 0.25], [0.55, 0.45]]: right on both; model 1 is wrong on example 1
    assert ex.ens_correct.tolist() == [1.0, 1.0] and ex.member_correct.tolist() == [1.0, 0.5]
    assert ex.ens_nll.tolist() == pytest.approx([-math.log(0.75), -math.log(0.55)])
    assert ex.member_nll.tolist() == pytest.approx([-(math.log(0.9) + math.log(0.6)) / 2,
                                                    -(math.log(0.4) + math.log(0.7)) / 2])
    assert ex.disagreement.tolist() == [0.0, 1.0]
    # random models: the means are ensemble_metrics' accuracy and disagreement_matrix off its diagonal
    gen = torch.Generator().manual_seed(0)
    logits, y = torch.randn(4, 50, 3, generator=gen), torch.randint(3, (50,), generator=gen)
    ex = fs.ensemble_examples(logits, y)
    table = fs.ensemble_metrics(logits.softmax(-1), y, sizes=[1, 4]).set_index("size")
    assert ex.ens_correct.mean() == pytest.approx(table.loc[4, "accuracy"])
    assert ex.member_correct.mean() == pytest.approx(table.loc[1, "accuracy"])
    dis = fs.disagreement_matrix(logits)
    assert ex.disagreement.mean() == pytest.approx(dis[~np.eye(4, dtype=bool)].mean())
    with pytest.raises(ValueError, match="M >= 2"):
        fs.ensemble_examples(logits[:1], y)


# --- predictions at many parameter vectors -----------------------------------------------------------------------


def test_predict_many_matches_loading_each_vector_into_the_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Dropout(0.5), nn.Linear(5, 4)).double()
    thetas = flat_params(model) + 0.3 * torch.randn(7, sum(t.numel() for t in model.parameters()), dtype=torch.float64)
    X = torch.randn(11, 3, dtype=torch.float64)
    got = fs.predict_many(model, thetas, X, chunk=3, batch=4)
    model.train()  # predict_many must switch dropout off and restore the mode
    for i, theta in enumerate(thetas):
        ref = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4)).double()
        torch.nn.utils.vector_to_parameters(theta, ref.parameters())
        assert got[i].double() == pytest.approx(ref(X).softmax(-1).detach(), abs=1e-6)
    assert model.training


# --- subspace samplers -------------------------------------------------------------------------------------------


def test_diagonal_gaussian_has_the_checkpoints_mean_and_std():
    ckpts = torch.tensor([[1.0, 0.0, 5.0], [3.0, 0.0, 5.0]], dtype=torch.float64)  # std 1, 0, 0
    s = fs.diagonal_gaussian(ckpts, 20000, seed=1)
    assert s[:, 1:].unique().tolist() == [0.0, 5.0]  # zero spread: every sample at the mean
    assert s[:, 0].mean().item() == pytest.approx(2.0, abs=0.03)
    assert s[:, 0].std().item() == pytest.approx(1.0, abs=0.02)
    wide = fs.diagonal_gaussian(ckpts, 20000, scale=10.0, random_scale=True, seed=1)
    # s = 10 U: the std of s * z is 10 sqrt(E[U^2]) = 10 / sqrt(3)
    assert wide[:, 0].std().item() == pytest.approx(10 / math.sqrt(3), rel=0.03)
    assert torch.equal(fs.diagonal_gaussian(ckpts, 3, seed=2), fs.diagonal_gaussian(ckpts, 3, seed=2))


def test_pca_gaussian_moves_only_along_the_top_directions_with_unit_variance():
    v = torch.tensor([3.0, 4.0, 0.0, 0.0], dtype=torch.float64) / 5
    ckpts = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64) + torch.tensor([-2.0, 0.5, 1.0, 3.0])[:, None] * v
    s = fs.pca_gaussian(ckpts, 20000, rank=1, scale=2.0, seed=0)
    shift_ = s - ckpts.mean(0)
    coef = shift_ @ v
    assert (shift_ - coef[:, None] * v).abs().max().item() < 1e-10  # on the line, exactly
    assert coef.std().item() == pytest.approx(2.0, rel=0.03)  # not whitened: N(0, scale^2) whatever the spread
    with pytest.raises(ValueError, match="rank=4 must be an integer from 1 to n - 1 = 3"):
        fs.pca_gaussian(ckpts, 2, rank=4)


def test_random_directions_radius_and_acceptance():
    theta = torch.zeros(50, dtype=torch.float64)
    s = fs.random_directions(theta, 200, radius=3.0, seed=0)
    dist = s.norm(dim=1)
    assert dist.max().item() <= 3.0 and dist.min().item() < 0.3 and dist.max().item() > 2.7
    kept = fs.random_directions(theta, 100, radius=3.0, seed=0, accept=lambda c: c.norm() < 1.0, tries=5)
    assert 0 < len(kept) < 100 and kept.norm(dim=1).max().item() < 1.0  # P(kept) = 1 - (2/3)^5
    assert fs.random_directions(theta, 5, accept=lambda c: False).shape == (0, 50)


def test_dropout_masks_zero_or_rescale_each_parameter():
    theta = torch.arange(1, 10001, dtype=torch.float64)
    s = fs.dropout_masks(theta, 50, rate=0.1, seed=0)
    for row in s:
        kept = row != 0
        factor = row[kept] / theta[kept]
        assert factor == pytest.approx(factor[0].item(), rel=1e-12)  # one rate per sample: kept weights x 1/(1-r)
        r = 1 - 1 / factor[0].item()
        assert 0 <= r <= 0.1
        assert (~kept).double().mean().item() == pytest.approx(r, abs=0.015)
    assert torch.equal(fs.dropout_masks(theta, 2, rate=0.0), torch.stack([theta, theta]))


# --- connectors --------------------------------------------------------------------------------------------------


def test_polychain_splits_t_evenly_over_segments():
    a, m, b = torch.tensor([0.0, 0.0]), torch.tensor([2.0, 2.0]), torch.tensor([4.0, 0.0])
    nodes = torch.stack([a, m, b])
    assert connectors.polychain(nodes, 0.0).tolist() == [0, 0]
    assert connectors.polychain(nodes, 0.25).tolist() == [1, 1]
    assert connectors.polychain(nodes, 0.5).tolist() == [2, 2]
    assert connectors.polychain(nodes, 0.75).tolist() == [3, 1]
    assert connectors.polychain(nodes, 1.0).tolist() == [4, 0]


def test_untrained_pair_connector_is_the_straight_line_and_star_joins_every_pair():
    a, b = torch.tensor([1.0, -1.0, 2.0]), torch.tensor([3.0, 5.0, 0.0])
    c = connectors.connect_pair(a, b, n_bends=2)
    for t in (0.0, 0.2, 1 / 3, 0.5, 0.9, 1.0):
        assert c.point(t).detach() == pytest.approx(a + t * (b - a))
    ends = [torch.tensor([0.0, 0.0]), torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])]
    star = connectors.connect_star(ends)
    assert star.paths == [(0, 3, 1), (0, 3, 2), (1, 3, 2)]
    assert star.bends.detach()[0].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="start and end at two different ends"):
        connectors.Connector(ends, [ends[0]], [(0, 1, 2)])


def test_training_the_bend_removes_a_symmetry_barrier_and_keeps_the_ends():
    """tanh is odd, so (W1, b1, W2) and (-W1, -b1, -W2) are the same function; the straight line between them
    passes through all-zero weights, where every logit is 0 and the loss is exactly ln 2."""
    torch.manual_seed(0)
    X = torch.randn(200, 2)
    y = (X[:, 0] * X[:, 1] > 0).long()
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2, bias=False))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    a = flat_params(model)
    c = connectors.connect_pair(a, -a)

    def loss_at(theta):
        return nn.functional.cross_entropy(fs.predict_many(model, theta, X, output="logits")[0], y).item()

    assert loss_at(c.point(0.5).detach()) == pytest.approx(math.log(2), abs=1e-6)
    hist = connectors.train_connector(model, c, X, y, steps=300, lr=0.05, batch_size=64, seed=0)
    assert len(hist) == 300 and set(hist.columns) == {"step", "path", "t", "loss"}
    assert torch.equal(c.ends, torch.stack([a, -a]))
    assert loss_at(c.point(0.5).detach()) < 0.5 * math.log(2)
    assert torch.equal(flat_params(model), a)  # the model's own parameters are untouched


# --- dataset shift -----------------------------------------------------------------------------------------------


def test_corruptions_on_hand_cases():
    x = np.array([[0.0, 1.0, 0.5, 0.5]])
    assert np.array_equal(shift.corrupt(x, "gaussian_noise", 0), x)
    # contrast, severity 1: c = 0.75 around the example's mean 0.5
    assert shift.corrupt(x, "contrast", 1, value_range=(0, 1)) == pytest.approx(np.array([[0.125, 0.875, 0.5, 0.5]]))
    # the same map on another value range: [0, 10] -> [0, 1] -> back
    assert shift.corrupt(x * 10, "contrast", 1, value_range=(0, 10)) == pytest.approx(np.array([[1.25, 8.75, 5, 5]]))
    dark = np.zeros((2, 1, 4, 4))
    assert np.array_equal(shift.corrupt(dark, "shot_noise", 5, value_range=(0, 1)), dark)  # Poisson(0) = 0
    flat = np.full((1, 3, 6, 6), 0.3)
    assert shift.corrupt(flat, "gaussian_blur", 5, value_range=(0, 1)) == pytest.approx(flat)
    delta = np.zeros((1, 1, 15, 15))
    delta[0, 0, 7, 7] = 1.0
    blurred = shift.corrupt(delta, "gaussian_blur", 5, value_range=(0, 1))
    assert blurred.sum() == pytest.approx(1.0) and blurred[0, 0, 7, 7] < 0.2


def test_noise_corruptions_are_seeded_clipped_and_grow_with_severity():
    X = torch.rand(300, 40, generator=torch.Generator().manual_seed(0))
    a = shift.corrupt(X, "gaussian_noise", 3, seed=1)
    assert isinstance(a, torch.Tensor) and a.dtype == X.dtype and a.shape == X.shape
    assert torch.equal(a, shift.corrupt(X, "gaussian_noise", 3, seed=1))
    assert not torch.equal(a, shift.corrupt(X, "gaussian_noise", 3, seed=2))
    lo, hi = X.min(), X.max()
    assert a.min() >= lo and a.max() <= hi
    change = [(shift.corrupt(X, "gaussian_noise", s) - X).abs().mean().item() for s in range(6)]
    assert change == sorted(change) and change[0] == 0
    imp = shift.corrupt(X, "impulse_noise", 5, value_range=(0, 1))
    assert (imp != X).double().mean().item() == pytest.approx(0.07, abs=0.01)
    sets = shift.shifted_sets(X, ["gaussian_noise", "contrast"], [1, 5])
    assert [(k, s) for k, s, _ in sets] == [("clean", 0), ("gaussian_noise", 1), ("gaussian_noise", 5),
                                            ("contrast", 1), ("contrast", 5)]
    with pytest.raises(ValueError, match="not a known corruption"):
        shift.corrupt(X, "fog", 1)
    with pytest.raises(ValueError, match="from 0 \\(clean\\) to 5"):
        shift.corrupt(X, "contrast", 6)


# --- the experiment module ---------------------------------------------------------------------------------------


def _p(**kw):
    base = dict(dataset="cifar10", model="cnn", widths=[8], channels=[64, 128, 256, 256], dropout=0.1, device="cpu", n_trajectories=3,
                n_runs=5, epochs=40, collect_after=30, pca_rank=5, n_val=500, n_train=50000, batch_size=128,
                shift_sizes=[2, 4], length_reference=971146, match_tol=0.02)
    return SimpleNamespace(**{**base, **kw})


def test_the_official_cnns_have_their_parameter_counts_and_xavier_biases():
    data = SimpleNamespace(input_shape=(3, 32, 32), n_classes=10)
    medium = paper.make_model(data, _p(), seed=0)
    assert n_parameters(medium) == 971_146  # printed by the official notebook
    assert paper.model_size(data, _p(channels=[16, 32, 32])) == 19_466  # SmallCNN, by hand
    kinds = [type(m).__name__ for m in medium]
    assert kinds[:5] == ["Conv2d", "Dropout", "MaxPool2d", "ReLU", "Conv2d"]
    assert kinds[-4:] == ["Dropout", "MaxPool2d", "Flatten", "Linear"]  # no ReLU after the last conv
    b = medium[0].bias
    assert b.abs().max().item() <= math.sqrt(6 / 65) and b.abs().max().item() > 0.5 * math.sqrt(6 / 65)
    assert paper.length_factor(_p(), 971_146) == 1.0 and paper.length_factor(_p(length_reference=0), 5) == 1.0


def test_check_refuses_inconsistent_parameters():
    paper.check(_p())
    with pytest.raises(ParameterError, match="n_trajectories = 6 must be at most n_runs = 5"):
        paper.check(_p(n_trajectories=6))
    with pytest.raises(ParameterError, match="pca_rank = 5 needs at least 6 checkpoints"):
        paper.check(_p(collect_after=36))
    with pytest.raises(ParameterError, match="shift_sizes"):
        paper.check(_p(shift_sizes=[2, 8]))
    with pytest.raises(ParameterError, match="model = 'cnn' needs images; mnist1d has vector inputs"):
        paper.check(_p(dataset="mnist1d"))
    paper.check(_p(dataset="mnist1d", model="mlp"))


def test_plane_summary_matches_accuracy_to_the_independent_runs():
    plane = pd.DataFrame({
        "method": ["independent"] * 3 + ["diag"] * 3,
        "sample": [0, 1, 2, 0, 1, 2],
        "accuracy": [0.60, 0.62, 0.64, 0.59, 0.50, 0.66],
        "disagreement": [0.0, 0.3, 0.3, 0.1, 0.4, 0.05],
    })
    plane["diversity"] = plane.disagreement / (1 - plane.accuracy)
    plane["position"] = 0.5
    s = paper.plane_summary(plane, _p(match_tol=0.02)).set_index("method")
    assert s.loc["independent", "diversity_mean"] == pytest.approx((0.3 / 0.38 + 0.3 / 0.36) / 2)  # base left out
    assert s.loc["diag", "matched"] == 2  # 0.59 and 0.66 lie in [0.58, 0.66]; 0.50 does not
    assert s.loc["diag", "diversity_mean"] == pytest.approx((0.1 / 0.41 + 0.05 / 0.34) / 2)


def test_barrier_is_the_peak_above_the_mean_of_the_ends():
    path = pd.DataFrame({"t": [0, 0.5, 1], "train_loss": [0.2, 1.0, 0.4]})
    assert paper.barrier(path) == pytest.approx(0.7)


def _tiny_run_setup(**kw):
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(130, 6, generator=gen)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    data = SimpleNamespace(name="toy", n_classes=3, input_shape=(6,), X_train=X[:80], y_train=y[:80],
                           X_val=X[80:100], y_val=y[80:100], X_test=X[100:], y_test=y[100:])
    p = _p(**{**dict(dataset="toy", model="mlp", widths=[8], dropout=0.2, epochs=4, batch_size=16, lr=0.01,
                     lr_halving_epochs=2, n_runs=2, seed=0), **kw})
    return data, p


def test_fit_keeps_one_checkpoint_and_one_evaluated_row_per_epoch():
    data, p = _tiny_run_setup()
    model = paper.make_model(data, p, seed=1)
    before = torch.get_rng_state()
    run = paper.fit(model, data, p, 0)
    assert torch.equal(torch.get_rng_state(), before)  # dropout drew from a forked global stream
    assert list(run.history.columns) == ["epoch", "lr", "train_loss", "train_acc", "test_loss", "test_acc",
                                         "val_loss", "val_acc"]
    assert run.history.epoch.tolist() == [0, 1, 2, 3] and run.history.lr.tolist() == [0.01, 0.01, 0.005, 0.005]
    assert run.checkpoints.shape == (4, n_parameters(model)) and torch.equal(run.theta, run.checkpoints[-1])
    assert torch.equal(flat_params(model), run.theta)
    logits = fs.predict_many(model, run.theta, data.X_test, output="logits")[0]
    assert run.history.test_acc.iloc[-1] == pytest.approx((logits.argmax(1) == data.y_test).double().mean().item())
    again = paper.fit(paper.make_model(data, p, seed=1), data, p, 0)
    assert torch.equal(again.checkpoints, run.checkpoints)
    other = paper.fit(paper.make_model(data, p, seed=1), data, p, 1)  # same init, run 1's batches and dropout
    assert not torch.equal(other.theta, run.theta)


def test_runs_draw_their_inits_from_independent_streams():
    data, p = _tiny_run_setup()
    runs = paper.train_runs(data, p) + paper.train_runs(data, _tiny_run_setup(seed=1)[1])
    firsts = [r.checkpoints[0] for r in runs]  # seed 0 runs 0, 1 and seed 1 runs 0, 1: no two alike
    assert all(not torch.equal(a, b) for i, a in enumerate(firsts) for b in firsts[i + 1:])
    assert paper.run_table(runs[:2]).run.tolist() == [0, 1]
