"""Few-shot toolkit (companion.fewshot), checked on cases small enough to solve by hand."""

import importlib
import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from companion.data.omniglot import ClassImages, group_split, rotations_as_classes
from companion.fewshot import (EpisodeSampler, Precision, ProtoNet, Split, damage, distances, downsample, embed_all,
                               encoder, evaluate, floor_share, mean_ci, mean_precision, paired_difference,
                               precision_floor, prototypes, split_channels, train_episodic)
from companion.fewshot.encoder import Encoder, glorot_bound
from companion.fewshot.evaluation import accuracy_from_embeddings, batch_statistics, z_value
from companion.nn import n_parameters
from companion.nn.models import _initialise

DT = torch.float64


def _images(n_groups=4, classes_per_group=3, per_class=6, side=8, seed=0):
    """Random images of ``n_groups * classes_per_group`` classes, each class in one group."""
    gen = torch.Generator().manual_seed(seed)
    n_classes = n_groups * classes_per_group
    y = torch.arange(n_classes).repeat_interleave(per_class)
    X = torch.rand(len(y), 1, side, side, generator=gen)
    groups = tuple(c // classes_per_group for c in range(n_classes))
    return ClassImages(X, y, tuple(f"g{g}/c{c}" for c, g in enumerate(groups)), groups,
                       tuple(f"g{g}" for g in range(n_groups)))


# ------------------------------------------------------------------------------ precisions and prototypes

def test_precision_transforms_are_at_least_one_with_their_values_at_zero():
    raw = torch.tensor([-50.0, -3.0, 0.0, 3.0, 50.0])
    expected_at_zero = {"softplus": 1 + math.log(2), "sigmoid": 1.5, "sigmoid4": 3.0, "learned": 1 + math.log(2)}
    for kind, value in expected_at_zero.items():
        s = Precision(kind)(raw)
        assert s[2].item() == pytest.approx(value, abs=1e-6), kind
        assert bool((s[:-1] <= s[1:]).all()), kind  # monotone in the raw output
        if kind != "learned":  # learned keeps s >= 1 only while a, b, c stay at their start
            assert bool((s >= 1).all()), kind
    assert Precision("sigmoid4")(torch.tensor(50.0)).item() == pytest.approx(5.0)
    assert sum(t.numel() for t in Precision("learned").parameters()) == 3
    with pytest.raises(ValueError, match="softplus, sigmoid, sigmoid4, learned"):
        Precision("exp")


def test_precision_weighted_prototype_by_hand():
    x = torch.tensor([[[0.0, 0.0], [2.0, 4.0]]], dtype=DT)  # one class, two shots, D = 2
    p, S = prototypes(x, torch.tensor([[[1.0], [3.0]]], dtype=DT))  # radius: one precision each
    assert p.tolist() == [[1.5, 3.0]] and S.tolist() == [[4.0]]
    q = torch.tensor([[1.5, 5.0]], dtype=DT)
    assert distances(q, p, S).item() == pytest.approx(math.sqrt(4.0 * 4.0))  # sqrt(4 * (0 + 2^2)) = 4
    assert distances(q, p, S, squared=True).item() == pytest.approx(16.0)
    # diagonal: one precision per dimension
    p, S = prototypes(x, torch.tensor([[[1.0, 2.0], [3.0, 2.0]]], dtype=DT))
    assert p.tolist() == [[1.5, 2.0]] and S.tolist() == [[4.0, 4.0]]
    assert distances(q, p, S, squared=True).item() == pytest.approx(4 * 0.0 + 4 * 9.0)
    # vanilla: the plain mean and S = 1
    p, S = prototypes(x)
    assert p.tolist() == [[1.0, 2.0]] and S.tolist() == [[1.0]]


def test_raising_one_support_precision_pulls_the_prototype_towards_it():
    x = torch.tensor([[[0.0, 0.0], [1.0, 1.0], [4.0, -2.0]]], dtype=DT)
    target = x[0, 2]
    dist = []
    for s2 in (1.0, 2.0, 10.0, 1000.0):
        p, _ = prototypes(x, torch.tensor([[[1.0], [1.0], [s2]]], dtype=DT))
        dist.append((p[0] - target).norm().item())
    assert dist == sorted(dist, reverse=True) and dist[-1] < 0.01


@pytest.mark.parametrize("distance", ["euclidean", "squared"])
@pytest.mark.parametrize("mode", ["radius", "diagonal"])
def test_identical_precisions_give_vanilla_logits_times_the_documented_factor(mode, distance):
    """Every image with precision sigma: Gaussian logits = sqrt(K sigma) (euclidean) or K sigma (squared) x vanilla."""
    gen = torch.Generator().manual_seed(0)
    n, k, m, d, sigma = 5, 3, 7, 6, 2.7
    xs, xq = torch.randn(n, k, d, generator=gen, dtype=DT), torch.randn(m, d, generator=gen, dtype=DT)
    gauss = ProtoNet(encoder(1, [4, 2 * d], 4), mode, distance=distance)
    vanilla = ProtoNet(encoder(1, [4, 2 * d], 4), "vanilla", distance=distance)
    width = 1 if mode == "radius" else d
    logits_g = gauss.logits(xs, torch.full((n, k, width), sigma, dtype=DT), xq)
    logits_v = vanilla.logits(xs, None, xq)
    factor = math.sqrt(k * sigma) if distance == "euclidean" else k * sigma
    assert torch.allclose(logits_g, factor * logits_v, rtol=1e-12, atol=1e-12)
    assert torch.equal(logits_g.argmax(1), logits_v.argmax(1))


def test_identity_through_the_whole_network_when_the_precision_is_constant():
    """A radius network whose raw precision is forced to a constant classifies exactly as the vanilla reading of
    the same embedding, with logits scaled by sqrt(K s)."""
    net = ProtoNet(encoder(1, [4, 4, 6], 8, seed=3), "radius").double().eval()
    X = torch.rand(12, 1, 8, 8, dtype=DT, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = net.encoder(X)
        x, s = net.embed(X)
        assert torch.equal(x, out[:, :5]) and torch.allclose(s, 1 + F.softplus(out[:, 5:]))
        s_const = torch.full_like(s, 1 + math.log(2))  # the precision of a raw output 0
        xs, xq = x[:9].reshape(3, 3, 5), x[9:]
        ratio = net.logits(xs, s_const[:9].reshape(3, 3, 1), xq) / net.logits(xs, None, xq)
    assert torch.allclose(ratio, torch.full_like(ratio, math.sqrt(3 * (1 + math.log(2)))), rtol=1e-12)


def test_modes_split_the_same_outputs_so_parameter_counts_are_equal():
    assert split_channels("vanilla", 64) == (64, 0)
    assert split_channels("radius", 64) == (63, 1)
    assert split_channels("diagonal", 64) == (32, 32)
    counts = {mode: n_parameters(ProtoNet(encoder(1, [8, 8, 8, 64], 28), mode), trainable=True)
              for mode in ("vanilla", "radius", "diagonal")}
    assert len(set(counts.values())) == 1
    with pytest.raises(ValueError, match="even"):
        split_channels("diagonal", 63)
    with pytest.raises(ValueError, match="vanilla, radius, diagonal"):
        split_channels("full", 64)


# ------------------------------------------------------------------------------ encoder

def test_encoder_sides_and_seeded_init():
    enc = encoder(1, [64, 64, 64, 64], 28, seed=0)
    assert enc.out_features == 64 and enc(torch.rand(2, 1, 28, 28)).shape == (2, 64)  # 28 -> 14 -> 7 -> 3 -> 1
    assert encoder(1, [8, 8, 8], 8).out_features == 8  # 8 -> 4 -> 2 -> 1
    assert encoder(1, [8, 8], 8).out_features == 8 * 2 * 2  # 8 -> 4 -> 2, flattened
    a, b, c = encoder(1, [4, 6], 8, seed=5), encoder(1, [4, 6], 8, seed=5), encoder(1, [4, 6], 8, seed=6)
    assert all(torch.equal(u, v) for u, v in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a[0][0].weight, c[0][0].weight)
    layers = [type(m).__name__ for m in a[0]]
    assert layers == ["Conv2d", "ReLU", "BatchNorm2d", "MaxPool2d"]  # batch norm after the ReLU, as the paper's code
    with pytest.raises(ValueError, match="at most 3 blocks"):
        encoder(1, [8, 8, 8, 8], 8)


def test_the_paper_init_is_tf1_glorot_uniform_for_weights_and_biases_with_its_batch_norm_epsilon():
    """TF1 fills a variable created without an initialiser U(-a, a), a = sqrt(6 / (fan_in + fan_out)); a 3x3
    kernel from c_in to c_out channels has fans 9 c_in and 9 c_out, a 1-D bias of n entries fans n and n."""
    assert glorot_bound((64, 16, 3, 3)) == pytest.approx(math.sqrt(6 / (9 * 16 + 9 * 64)))
    assert glorot_bound((32,)) == pytest.approx(math.sqrt(3 / 32))
    enc = encoder(1, [64, 64, 64, 32], 28, seed=0, init="paper")
    convs = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in enc.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for conv in convs:
        for t in (conv.weight, conv.bias):
            a = glorot_bound(t.shape)
            x = t.detach().double().flatten().numpy()
            assert np.abs(x).max() <= a and np.abs(x).max() > 0.9 * a  # fills U(-a, a), not a narrower range
    w = convs[1].weight.detach().double().flatten().numpy()  # 36,864 draws: uniform, mean 0, variance a^2 / 3
    a = glorot_bound(convs[1].weight.shape)
    assert stats.kstest(w, stats.uniform(-a, 2 * a).cdf).pvalue > 0.01
    assert w.var() == pytest.approx(a ** 2 / 3, rel=0.03) and abs(w.mean()) < 0.01 * a
    assert all(conv.bias.abs().min().item() > 0 for conv in convs)  # the biases are drawn, not zero
    assert all(n.eps == 1e-3 and bool((n.weight == 1).all()) and bool((n.bias == 0).all()) for n in norms)
    b = encoder(1, [64, 64, 64, 32], 28, seed=0, init="paper")
    assert all(torch.equal(u, v) for u, v in zip(enc.parameters(), b.parameters()))  # seeded


def test_the_xavier_init_is_normal_with_zero_biases_and_pytorchs_epsilon():
    enc = encoder(1, [64, 64, 64, 32], 28, seed=0, init="xavier")
    conv = [m for m in enc.modules() if isinstance(m, torch.nn.Conv2d)][1]
    w = conv.weight.detach().double().flatten().numpy()
    sd = math.sqrt(2 / (9 * 64 + 9 * 64))
    assert stats.kstest(w, stats.norm(0, sd).cdf).pvalue > 0.01 and w.std() == pytest.approx(sd, rel=0.03)
    assert all(m.bias.abs().max().item() == 0 for m in enc.modules() if isinstance(m, torch.nn.Conv2d))
    assert all(m.eps == 1e-5 for m in enc.modules() if isinstance(m, torch.nn.BatchNorm2d))
    before = _initialise(Encoder(1, [64, 64, 64, 32], 28), "xavier", 1.0, 0)  # the encoder before the init option
    assert all(torch.equal(u, v) for u, v in zip(enc.parameters(), before.parameters()))


def test_an_unknown_init_is_refused_with_the_allowed_values_before_any_layer_is_built(monkeypatch):
    module = importlib.import_module("companion.fewshot.encoder")  # the package's ``encoder`` is the function
    monkeypatch.setattr(module, "Encoder", lambda *a, **k: pytest.fail("built a layer before checking the init"))
    with pytest.raises(ValueError, match="init='glorot' is not allowed; choose one of xavier, paper"):
        encoder(1, [8, 8, 8], 8, init="glorot")


# ------------------------------------------------------------------------------ episodes and splits

def test_episode_sampler_is_seeded_and_draws_distinct_classes_and_images():
    data = _images()
    a = EpisodeSampler(data.y, 4, 2, 3, seed=11).take(20)
    b = EpisodeSampler(data.y, 4, 2, 3, seed=11).take(20)
    c = EpisodeSampler(data.y, 4, 2, 3, seed=12).take(20)
    assert all(np.array_equal(u.indices(), v.indices()) and np.array_equal(u.classes, v.classes) for u, v in zip(a, b))
    assert any(not np.array_equal(u.indices(), v.indices()) for u, v in zip(a, c))
    for ep in a:
        assert ep.support.shape == (4, 2) and ep.query.shape == (4, 3)
        assert len(set(ep.classes.tolist())) == 4
        idx = ep.indices()
        assert len(set(idx.tolist())) == len(idx)  # no image twice
        for row, cls in enumerate(ep.classes):  # row i holds images of classes[i]
            assert (data.y[ep.support[row]] == cls).all() and (data.y[ep.query[row]] == cls).all()
    assert ep.query_labels().tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_episodes_never_mix_the_splits():
    data = rotations_as_classes(_images())
    train, test = group_split(data, ["g1", "g3"])
    split = Split(train, test)
    assert set(train.groups) == {"g0", "g2"} and set(test.groups) == {"g1", "g3"}
    for side, other in ((split.train, split.test), (split.test, split.train)):
        groups = side.image_groups()
        for ep in EpisodeSampler(side.y, 5, 2, 3, seed=0).take(50):
            idx = torch.from_numpy(ep.indices())
            names = {side.group_names[g] for g in groups[idx].tolist()}
            assert names <= set(side.groups) and not names & set(other.groups)
            assert {side.class_names[c] for c in ep.classes} <= set(side.class_names)
            assert not {side.class_names[c] for c in ep.classes} & set(other.class_names)
            assert idx.max() < len(side.X)  # indices into this side's own images
    with pytest.raises(ValueError, match="both sides"):
        Split(train, train)


def test_sampler_refuses_impossible_episodes():
    data = _images(per_class=6)
    with pytest.raises(ValueError, match="n_way=13 is more than the 12 classes"):
        EpisodeSampler(data.y, 13, 1, 1, seed=0)
    with pytest.raises(ValueError, match=r"n_shot \+ n_query = 7"):
        EpisodeSampler(data.y, 5, 2, 5, seed=0)
    with pytest.raises(ValueError, match="n_way=1 must be an integer >= 2"):
        EpisodeSampler(data.y, 1, 1, 1, seed=0)


# ------------------------------------------------------------------------------ statistics

def test_confidence_interval_half_width_is_the_normal_formula():
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0, 5.0])
    assert mean == 3.0
    assert half == pytest.approx(1.959963984540054 * math.sqrt(2.5) / math.sqrt(5), rel=1e-12)
    assert z_value(0.95) == pytest.approx(1.959963984540054, rel=1e-12)
    assert mean_ci([0.5, 0.5, 0.5])[1] == 0.0
    with pytest.raises(ValueError, match="at least 2 values"):
        mean_ci([1.0])


def test_paired_difference_verdicts():
    a = np.array([0.8, 0.9, 1.0, 0.7])
    assert paired_difference(a + 0.1, a)["verdict"] == "higher"  # constant gain: zero width
    assert paired_difference(a, a + 0.1)["verdict"] == "lower"
    d = paired_difference(a + np.array([0.1, -0.1, 0.1, -0.1]), a)
    assert d["verdict"] == "tie" and d["diff"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="same shape"):
        paired_difference(a, a[:3])


# ------------------------------------------------------------------------------ damage

def test_damage_down_samples_exactly_the_asked_fraction_with_a_seed():
    X = torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out, mask = damage(X, 0.25, 2, seed=3)
    assert int(mask.sum()) == 10
    assert torch.equal(out[~mask], X[~mask]) and not torch.equal(out[mask], X[mask])
    assert torch.equal(damage(X, 0.25, 2, seed=3)[1], mask) and not torch.equal(damage(X, 0.25, 2, seed=4)[1], mask)
    assert torch.allclose(downsample(torch.full((1, 1, 8, 8), 0.3), 2), torch.full((1, 1, 8, 8), 0.3))
    assert torch.equal(downsample(X, 8), X)
    low = downsample(X[:1], 1)  # one pixel: a single (weighted-mean) value everywhere
    assert torch.allclose(low, low[0, 0, 0, 0].expand_as(low)) and X.min() < low[0, 0, 0, 0] < X.max()
    with pytest.raises(ValueError, match="fraction"):
        damage(X, 1.5, 2, seed=0)


# ------------------------------------------------------------------------------ training and evaluation

def _separable(n_classes=8, per_class=10, side=8):
    """Classes that differ by a bright square in a class-specific place: easy to learn."""
    X = 0.1 * torch.rand(n_classes * per_class, 1, side, side, generator=torch.Generator().manual_seed(0))
    y = torch.arange(n_classes).repeat_interleave(per_class)
    for c in range(n_classes):
        r, q = divmod(c, 4)
        X[y == c, 0, 4 * r:4 * r + 3, 2 * q:2 * q + 2] += 1.0
    names = tuple(str(c) for c in range(n_classes))
    return ClassImages(X, y, names, tuple(range(n_classes)), names)


def test_episodic_training_learns_and_is_deterministic():
    data = _separable()
    runs = []
    for _ in range(2):
        model = ProtoNet(encoder(1, [8, 8, 8], 8, seed=0), "radius")
        runs.append(train_episodic(model, data, n_way=4, n_shot=1, n_query=3, steps=40, lr=0.01, seed=1,
                                   log_every=10))
    h = runs[0]
    assert list(h.columns) == ["step", "loss", "acc", "lr"] and h.step.tolist() == [10, 20, 30, 40]
    assert h.loss.iloc[-1] < h.loss.iloc[0] and h.acc.iloc[-1] > 0.9
    pd.testing.assert_frame_equal(runs[0], runs[1])  # same seeds, same numbers
    halved = train_episodic(ProtoNet(encoder(1, [8, 8, 8], 8), "vanilla"), data, n_way=4, n_shot=1, n_query=3,
                            steps=6, lr=0.01, halve_every=2, seed=1, log_every=1)
    assert halved.lr.tolist() == [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]


def test_episodic_training_stops_at_a_non_finite_loss_without_stepping():
    data = _separable()
    data = ClassImages(torch.full_like(data.X, float("nan")), data.y, data.class_names, data.class_group,
                       data.group_names)
    model = ProtoNet(encoder(1, [8, 8, 8], 8, seed=0), "radius")
    before = [t.clone() for t in model.parameters()]
    h = train_episodic(model, data, n_way=4, n_shot=1, n_query=3, steps=10, lr=0.01, seed=1, log_every=5)
    assert h.step.tolist() == [1] and math.isnan(h.loss.iloc[0])  # the step that diverged, then no more
    assert all(torch.equal(u, v) for u, v in zip(before, model.parameters())) and not model.training


def test_mean_precision_averages_the_dimensions_and_refuses_vanilla():
    X = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    model = ProtoNet(encoder(1, [8, 8, 6], 8, seed=0), "diagonal")
    assert torch.equal(mean_precision(model, X), embed_all(model, X)[1].mean(1))
    with pytest.raises(ValueError, match="vanilla"):
        mean_precision(ProtoNet(encoder(1, [8, 8, 6], 8), "vanilla"), X)


@pytest.mark.parametrize("mode", ["radius", "diagonal"])
def test_precision_floor_by_hand_and_the_share_of_images_at_it(mode):
    """A dead precision channel (ReLU zero everywhere): every image at 1 + softplus(b - w m / sqrt(v + eps))."""
    model = ProtoNet(encoder(1, [4, 4, 4], 8, seed=0), mode).eval()
    conv, _, norm, _ = model.encoder[-2]
    k = model.sigma_dim
    with torch.no_grad():
        norm.running_mean[-k:], norm.running_var[-k:] = 0.5, 0.25
        norm.weight[-k:], norm.bias[-k:] = 2.0, 0.3
        conv.bias[-k:] = -1e6  # every pre-activation of the precision channels is negative: the ReLU is zero
    expected = 1 + math.log1p(math.exp(0.3 - 2.0 * 0.5 / math.sqrt(0.25 + norm.eps)))
    assert precision_floor(model).tolist() == pytest.approx([expected] * k, rel=1e-6)
    X = torch.rand(10, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    assert floor_share(model, X).tolist() == [1.0] * 10
    assert mean_precision(model, X).tolist() == pytest.approx([expected] * 10)
    with torch.no_grad():
        conv.bias[-k:] = 1e6  # every ReLU output positive: no image at the floor
    assert floor_share(model, X).tolist() == [0.0] * 10
    with torch.no_grad():
        conv.bias[-k] = -1e6  # only the first precision channel dead: each image has 1 of its k precisions at the floor
    assert floor_share(model, X).tolist() == pytest.approx([1 / k] * 10)
    with pytest.raises(ValueError, match="vanilla"):
        precision_floor(ProtoNet(encoder(1, [4, 4, 4], 8, seed=0), "vanilla"))


def test_batched_evaluation_equals_one_episode_at_a_time():
    data = _images(per_class=8)
    model = ProtoNet(encoder(1, [8, 8, 6], 8, seed=0), "diagonal").eval()
    episodes = EpisodeSampler(data.y, 5, 2, 3, seed=0).take(37)
    acc = evaluate(model, data.X, episodes)
    x, s = embed_all(model, data.X)
    loop = [(model.episode_logits(x[torch.from_numpy(e.indices())], s[torch.from_numpy(e.indices())], e).argmax(1)
             == e.query_labels()).double().mean().item() for e in episodes]
    assert acc.tolist() == loop
    assert accuracy_from_embeddings(model, x, s, episodes, chunk=4).tolist() == loop


def test_transductive_batch_norm_uses_episode_statistics_and_leaves_running_ones():
    data = _images(per_class=8)
    model = ProtoNet(encoder(1, [8, 8, 6], 8, seed=0), "radius")
    model.train()
    with torch.no_grad():
        model.embed(3 * data.X + 1)  # running statistics far from the defaults
    model.eval()
    before = [t.clone() for t in model.state_dict().values()]
    episodes = EpisodeSampler(data.y, 5, 2, 3, seed=0).take(5)
    trans = evaluate(model, data.X, episodes, bn="transductive")
    after = list(model.state_dict().values())
    assert all(torch.equal(u, v) for u, v in zip(before[:-1], after[:-1]) if u.dtype != torch.int64)
    assert not model.training
    with torch.no_grad(), batch_statistics(model):
        ep = episodes[0]
        x, s = model.embed(data.X[torch.from_numpy(ep.indices())])
    expected = (model.episode_logits(x, s, ep).argmax(1) == ep.query_labels()).double().mean().item()
    assert trans[0] == expected
    with pytest.raises(ValueError, match="running or transductive"):
        evaluate(model, data.X, episodes, bn="train")
