"""The cluster simulator, the cavity networks and baselines, and the X-ray cavity experiment functions,
each on a case small enough to know the answer."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from companion.experiments import xray_cavities as xc
from companion.params import ParameterError
from companion.physics import cavity_nets as cn
from companion.physics import clusters as cl
from scipy.integrate import quad

# ---------------------------------------------------------------------------------------------
# Projection


def _elliptical_radius(c, size):
    dx, dy = cl._grid(c, size)
    cos, sin = np.cos(c.angle), np.sin(c.angle)
    return np.hypot(cos * dx + sin * dy, (-sin * dx + cos * dy) / (1 - c.ellipticity))


@pytest.mark.parametrize("rc, beta, ell", [(2.5, 0.5, 0.0), (4.0, 2 / 3, 0.2), (10.0, 1.0, 0.3), (6.0, 1.1, 0.1)])
def test_projected_beta_model_matches_the_analytic_profile_within_one_percent(rc, beta, ell):
    c = cl.Cluster(x=30.7, y=33.2, rc=rc, beta=beta, ellipticity=ell, angle=0.9)
    _, plain, labels = cl.render(c, 64)
    analytic = cl.projected_beta(_elliptical_radius(c, 64), rc, beta)
    assert np.abs(plain / analytic - 1).max() < 0.01
    assert np.abs(plain / analytic - 1).max() < 1e-4  # in fact far better, out to the image corners
    assert not labels.any()


def test_projected_beta_is_the_line_of_sight_integral():
    rc, beta, R = 3.0, 0.8, 5.0
    exact = quad(lambda z: (1 + (R ** 2 + z ** 2) / rc ** 2) ** (-3 * beta), -np.inf, np.inf)[0]
    assert cl.projected_beta(R, rc, beta) == pytest.approx(exact, rel=1e-10)
    with pytest.raises(ValueError, match="beta > 1/6"):
        cl.projected_beta(1.0, 1.0, 0.1)


def test_line_of_sight_nodes_integrate_to_infinity():
    z, w = cl.los_nodes(64)  # step 0.5: exact to 1e-9 for widths >= 4 steps, as the module doc says
    for a in (2.0, 4.0, 8.0):
        assert np.sum(w / (1 + (z / a) ** 2) ** 2) == pytest.approx(a * np.pi / 2, rel=1e-9 if a > 2 else 1e-4)
    assert np.all(np.diff(z) > 0) and np.all(w > 0)


# ---------------------------------------------------------------------------------------------
# Cavities


CAVITY = cl.Cavity(distance=9.0, azimuth=0.7, radius=5.0, inclination=0.3, elongation=1.2)
CLUSTER = cl.Cluster(x=32.2, y=31.6, rc=4.0, beta=0.7, cavities=(CAVITY,))


def _chord(cav, c, dx, dy):
    """The exact depths (z1, z2) where the line of sight through (dx, dy) is inside the cavity, or None."""
    centre, A = cl._shape(cav)
    ex, ey = dx - centre[0], dy - centre[1]
    a, b = A[2, 2], A[0, 2] * ex + A[1, 2] * ey
    c0 = A[0, 0] * ex ** 2 + 2 * A[0, 1] * ex * ey + A[1, 1] * ey ** 2 - 1
    disc = b * b - a * c0
    if disc <= 0:
        return None
    return (-b - np.sqrt(disc)) / a + centre[2], (-b + np.sqrt(disc)) / a + centre[2]


@pytest.mark.parametrize("step", [0.5, 0.05])
def test_a_cavity_deficit_is_where_the_mask_says_and_equals_the_missing_emission(step):
    bright, plain, labels = cl.render(CLUSTER, 64, step=step)
    deficit, mask = plain - bright, labels == 1
    assert np.all(deficit[~mask] == 0)  # nothing changes outside the projected footprint
    assert np.all(deficit[mask] > 0)  # and every pixel inside it is darker
    dx, dy = cl._grid(CLUSTER, 64)
    checked = 0
    for y, x in zip(*np.nonzero(mask)):
        chord = _chord(CAVITY, CLUSTER, dx[y, x], dy[y, x])
        assert chord is not None  # the analytic footprint and the chord agree
        z1, z2 = chord
        if z2 - z1 < 2:
            continue
        rho2 = dx[y, x] ** 2 + dy[y, x] ** 2
        exact = quad(lambda z, r2=rho2: (1 + (r2 + z * z) / CLUSTER.rc ** 2) ** (-3 * CLUSTER.beta), z1, z2)[0]
        # Simpson's rule resolves each end of the chord to within one step
        assert deficit[y, x] == pytest.approx(exact, rel=3 * step / (z2 - z1))
        checked += 1
    assert checked > 50


def test_a_partly_filled_cavity_removes_the_empty_deficit_times_one_minus_fill():
    empty, plain, _ = cl.render(CLUSTER, 64)
    half = cl.Cluster(**{**CLUSTER.__dict__, "cavities": (cl.Cavity(**{**CAVITY.__dict__, "fill": 0.4}),)})
    filled, _, _ = cl.render(half, 64)
    np.testing.assert_allclose(plain - filled, 0.6 * (plain - empty), rtol=1e-12, atol=1e-15)


def test_a_rim_brightens_only_around_its_cavity():
    cav = cl.Cavity(distance=10.0, azimuth=2.0, radius=4.0, rim=0.5, rim_width=1.5)
    c = cl.Cluster(x=32, y=32, rc=5.0, beta=0.67, cavities=(cav,))
    bright, plain, labels = cl.render(c, 64)
    grown = cl.Cavity(distance=10.0, azimuth=2.0, radius=5.5)  # the rim's outer surface
    dx, dy = cl._grid(c, 64)
    outer = cl._footprint(grown, dx, dy)
    assert np.all(bright[~outer] == plain[~outer])
    ring = outer & (labels == 0)
    assert np.all(bright[ring] > plain[ring])


def test_truth_radius_is_that_of_the_circle_with_the_projected_area():
    assert cl.cavity_radius(cl.Cavity(distance=8, azimuth=1, radius=5.0)) == pytest.approx(5.0, rel=1e-12)
    assert cl.cavity_radius(cl.Cavity(distance=8, azimuth=1, radius=4.0, elongation=1.5)) == pytest.approx(
        4.0 * np.sqrt(1.5), rel=1e-12)
    # seen end on, a prolate cavity shows its round cross-section
    assert cl.cavity_radius(cl.Cavity(distance=8, azimuth=1, radius=4.0, elongation=1.5,
                                      inclination=np.pi / 2)) == pytest.approx(4.0, rel=1e-9)
    c = cl.Cluster(x=32, y=32, rc=4, beta=0.7, cavities=(cl.Cavity(distance=12, azimuth=0.3, radius=6.0, elongation=1.2),))
    _, _, labels = cl.render(c, 64)
    area = np.pi * cl.cavity_radius(c.cavities[0]) ** 2
    assert abs(labels.sum() - area) < 0.05 * area


# ---------------------------------------------------------------------------------------------
# Counts and seeds


def test_same_seed_same_image_and_each_image_independent_of_the_batch():
    a, b = cl.simulate(3, seed=5), cl.simulate(3, seed=5)
    np.testing.assert_array_equal(a.observe(2000, 1), b.observe(2000, 1))
    np.testing.assert_array_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.cavities, b.cavities)
    two = cl.simulate(2, seed=5)
    np.testing.assert_array_equal(two.observe(2000, 1), a.observe(2000, 1)[:2])
    assert not np.array_equal(cl.simulate(3, seed=6).unit, a.unit)
    assert not np.array_equal(a.observe(2000, 1, realisation=1), a.observe(2000, 1))
    assert not np.array_equal(cl.simulate(3, seed=5, stream=1).unit, a.unit)


def test_expected_counts_are_the_cluster_plus_background_times_exposure():
    c = cl.Cluster(x=32, y=32, rc=5.0, beta=0.7, counts=1234.0, background=0.25)
    bright, plain, _ = cl.render(c, 64)
    assert cl.expected_counts(bright, plain, c).sum() == pytest.approx(1234.0 * 1.25, rel=1e-12)
    v = cl.Cluster(**{**c.__dict__, "vignetting": 0.2})
    ratio = cl.expected_counts(bright, plain, v) / cl.expected_counts(bright, plain, c)
    np.testing.assert_allclose(ratio, cl.exposure_map(64, 0.2))
    assert cl.exposure_map(64, 0.2).max() < 1 and cl.exposure_map(64, 0.2).min() == pytest.approx(1 - 0.2 * 31.5 ** 2 / 32 ** 2)


def test_poisson_counts_average_to_the_expectation():
    sample = cl.simulate(1, seed=0)
    draws = np.stack([sample.observe(5000, 0, realisation=r)[0] for r in range(400)])
    expected = sample.unit[0] * 5000
    assert draws.sum((1, 2)).mean() == pytest.approx(expected.sum(), rel=0.01)
    assert draws.sum((1, 2)).var() == pytest.approx(expected.sum(), rel=0.2)  # Poisson: variance = mean


def test_the_prior_gives_cavities_inside_the_image_and_about_the_asked_fraction():
    sample = cl.simulate(200, seed=1)
    assert 0.4 < sample.has_cavity.mean() < 0.6
    assert (sample.cavities.area > 0).all()
    assert np.array_equal(sample.mask.any((1, 2)), sample.has_cavity)
    sub = sample.subset([3, 1])
    assert np.array_equal(sub.labels[1], sample.labels[1]) and set(sub.cavities.image) <= {0, 1}
    k = int(np.argmax(sample.has_cavity))
    twice = sample.subset([k, k])  # repeats keep every copy's cavities (the stability test tiles clusters)
    n = int((sample.cavities.image == k).sum())
    assert twice.cavities.image.tolist() == [0] * n + [1] * n


# ---------------------------------------------------------------------------------------------
# Networks, candidates, baselines


def test_networks_shapes_and_the_paper_architecture_size():
    x = torch.zeros(2, 1, 32, 32)
    assert cn.UNet((4, 8, 16))(x).shape == (2, 32, 32)
    assert cn.n_parameters(cn.InceptionNet()) == 563_146  # CADET's "Stan's model": 563,146 trainable
    assert cn.InceptionNet(scale=0.125)(x).shape == (2, 32, 32)
    with pytest.raises(ValueError, match="architecture"):
        cn.segmenter("resnet")


def test_untrained_decoder_returns_the_area_radius():
    crops = torch.zeros(3, 2, 16, 16)
    for i, r in enumerate((2, 3, 5)):
        crops[i, 1, :r, :r] = 1
    radius = torch.exp(cn.RadiusDecoder().eval()(crops))
    np.testing.assert_allclose(radius.detach().numpy(), np.sqrt(np.array([4, 9, 25]) / np.pi), rtol=1e-6)


def test_components_keep_regions_above_the_threshold_and_minimum_area():
    score = np.zeros((2, 10, 10))
    score[0, 1:4, 1:4] = 0.9  # 9 pixels
    score[0, 9, 0] = 0.9  # 1 pixel: dropped by min_area
    score[0, 5, 5] = 0.6
    score[0, 6, 6] = 0.6  # diagonal neighbours: one 8-connected region of 2
    found, table = cn.components(score, 0.5, min_area=2)
    assert table.area.tolist() == [9.0, 2.0] and table.image.tolist() == [0, 0]
    assert table.loc[0, ["y", "x"]].tolist() == [2.5, 2.5]  # rows 1-3: pixel centres 1.5, 2.5, 3.5
    assert table.loc[0, "radius_area"] == pytest.approx(np.sqrt(9 / np.pi))
    assert found[0, 9, 0] == 0 and found[0, 2, 2] == 1 and not found[1].any()


def test_match_finds_the_best_overlap_and_flags_false_candidates():
    truth = np.zeros((1, 10, 10), np.int8)
    truth[0, 0:4, 0:4] = 1  # 16 pixels
    truth[0, 6:8, 6:8] = 2  # 4 pixels, missed
    found = np.zeros((1, 10, 10), np.int32)
    found[0, 0:4, 0:2] = 1  # 8 of cavity 1: IoU 0.5
    found[0, 0:4, 2:3] = 2  # 4 of cavity 1: IoU 0.25
    found[0, 9, 0:3] = 3  # nothing
    _, table = cn.components(found > 0, 0.5)  # the tables' rows are not used for matching
    table = pd.DataFrame({"image": [0, 0, 0], "component": [1, 2, 3]})
    cav, cands = cn.match(found, table, truth, min_iou=0.2)
    assert cav.component.tolist() == [1, 0] and cav.iou.tolist() == [0.5, 0.0]
    assert cands.true.tolist() == [True, False, False]


def test_beta_fit_recovers_a_noise_free_model():
    true = torch.tensor([[31.3, 33.1, np.log(4.0), 0.3, np.log(50.0), np.log(0.5), 0.1, -0.05]], dtype=torch.float64)
    model = cn._beta_surface(true, 64).numpy()
    fit, params = cn.fit_beta(model, iterations=40)
    np.testing.assert_allclose(fit, model, rtol=1e-5)
    np.testing.assert_allclose(params, true.numpy(), atol=1e-3)


def test_beta_jacobian_is_the_derivative():
    p = torch.tensor([[16.2, 15.1, 1.2, 0.3, 2.0, -1.0, 0.1, -0.05]], dtype=torch.float64)
    _, J = cn._beta_surface(p, 32, jacobian=True)
    auto = torch.autograd.functional.jacobian(lambda q: cn._beta_surface(q, 32), p)[0, :, :, 0].permute(2, 0, 1)
    torch.testing.assert_close(J[0], auto, rtol=1e-10, atol=1e-12)


def test_baseline_maps_vanish_without_structure():
    model = np.full((2, 16, 16), 3.0)
    np.testing.assert_allclose(cn.beta_residual(model, model), 0.0, atol=1e-12)
    np.testing.assert_allclose(cn.unsharp_mask(model), 0.0, atol=1e-12)
    # one sigma of smoothed Poisson noise: a deficit of sqrt(sum g^2 m) in the smoothed residual reads -1
    counts = model.copy()
    counts[0, 8, 8] -= 1.0
    z = cn.beta_residual(counts, model, sigma=1.0)
    assert z[0, 8, 8] < 0 and z[1].max() == 0


def test_segmenter_training_is_repeatable_and_learns():
    sample = cl.simulate(16, seed=0)
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # training must not depend on the global generator
        model = cn.UNet((4, 8))
        history = cn.train_segmenter(model, sample, steps=6, batch_size=4, lr=5e-3, seed=3, log_every=1)
        runs.append((history, model.state_dict()))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    for k, v in runs[0][1].items():
        assert torch.equal(v, runs[1][1][k])
    assert runs[0][0].loss.iloc[-1] < runs[0][0].loss.iloc[0]


def test_decoder_training_is_repeatable_and_fits_the_radii():
    gen = torch.Generator().manual_seed(0)
    X = torch.zeros(32, 2, 16, 16)
    radius = torch.empty(32)
    for i in range(32):  # discs of radius r in the mask channel, probability 0.8 inside
        r = 2 + 5 * torch.rand(1, generator=gen).item()
        yy, xx = torch.meshgrid(torch.arange(16) - 7.5, torch.arange(16) - 7.5, indexing="ij")
        disc = (yy ** 2 + xx ** 2 <= r ** 2).float()
        X[i, 0], X[i, 1], radius[i] = 0.8 * disc, disc, r * 1.2  # the truth is 20 % larger than the mask
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        decoder = cn.RadiusDecoder(width=4)
        history = cn.train_decoder(decoder, X, torch.log(radius), steps=60, batch_size=16, lr=1e-2, seed=1, log_every=1)
        runs.append((history, cn.decode(decoder, X[:, 0].numpy(), X[:, 1].numpy().astype(int),
                                        pd.DataFrame({"image": range(32), "component": 1, "y": 8.0, "x": 8.0}), crop=16)))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    before = np.median(np.abs(np.sqrt(X[:, 1].sum((1, 2)).numpy() / np.pi) / radius.numpy() - 1))
    after = np.median(np.abs(runs[0][1] / radius.numpy() - 1))
    assert before > 0.1 and after < before / 2  # it learns the bias the area radius cannot see


# ---------------------------------------------------------------------------------------------
# The experiment module


def _p(**changes):
    base = dict(retrain=False, **xc.TRAINED, counts=[1000.0, 3000.0], n_test=8, n_calibration=4, n_stability=2,
                n_realisations=3, threshold=0.5, min_area=5, fit_iterations=20, seed=0, device="cpu")
    return SimpleNamespace(**{**base, **changes})


def test_check_refuses_settings_the_committed_model_was_not_trained_with():
    xc.check(_p())
    with pytest.raises(ParameterError, match="retrain = True"):
        xc.check(_p(train_steps=10))
    xc.check(_p(train_steps=10, retrain=True))
    with pytest.raises(ParameterError, match="divisible"):
        xc.check(_p(image_size=66, retrain=True))
    with pytest.raises(ParameterError, match="repeats"):
        xc.check(_p(counts=[1000.0, 1000.0]))


def test_the_committed_model_loads_and_its_checksum_is_enforced(tmp_path):
    model = xc.load_models()
    assert cn.n_parameters(model) > 0 and not model.training
    bad = tmp_path / "model.pt"
    bad.write_bytes(xc.MODEL_FILE.read_bytes()[:-1] + b"x")
    with pytest.raises(ValueError, match="sha256"):
        xc.load_models(bad)
    with pytest.raises(FileNotFoundError, match="python -m companion.experiments.xray_cavities"):
        xc.load_models(tmp_path / "missing.pt")


def test_the_training_command_runs_at_reduced_size_and_is_deterministic(tmp_path, capsys):
    args = ["--n-train", "24", "--train-steps", "3", "--batch-size", "4", "--decoder-steps", "2", "--widths", "4", "8"]
    assert xc.main(["--out", str(tmp_path / "a.pt"), *args]) == 0
    assert xc.main(["--out", str(tmp_path / "b.pt"), *args]) == 0
    out = capsys.readouterr().out
    digest = xc.sha256(tmp_path / "a.pt")
    assert digest == xc.sha256(tmp_path / "b.pt") and f"sha256 {digest}" in out
    model = xc.load_models(tmp_path / "a.pt", expected=digest, config={"widths": [4, 8]})
    assert model.segmenter.widths == (4, 8)
    assert torch.get_num_threads() == torch.get_num_threads()  # the caller's thread count is restored below
    before = torch.get_num_threads()
    with xc.threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_score_counts_pixels_images_and_radii():
    labels = np.zeros((2, 8, 8), np.int8)
    labels[0, 0:4, 0:4] = 1
    unit = np.ones((2, 8, 8), np.float32)
    sample = cl.Sample(unit, labels, pd.DataFrame({"image": [0], "label": [1], "radius": [2.0], "distance": [5.0],
                                                   "fill": [0.0]}),
                       [cl.Cluster(0, 0, 1, 1, cavities=(CAVITY,)), cl.Cluster(0, 0, 1, 1)])
    found = np.zeros((2, 8, 8), np.int32)
    found[0, 0:4, 0:2] = 1  # half the cavity
    found[1, 6:8, 6:8] = 1  # a false detection in the cavity-free image
    table = pd.DataFrame({"image": [0, 1], "component": [1, 1], "radius": [2.5, 1.0], "radius_area": [1.6, 1.1]})
    summary, _ = xc._score(sample, found, table)
    assert summary["iou"] == pytest.approx(8 / 20)
    assert (summary["tpr"], summary["fpr"], summary["recall"]) == (1.0, 1.0, 1.0)
    assert summary["false_per_image"] == 0.5
    assert summary["radius_err"] == pytest.approx(0.25) and summary["radius_err_area"] == pytest.approx(0.2)


def test_paired_comparisons_and_claims_judge_what_they_say():
    pairs = pd.DataFrame({"counts": [1e3, 1e3], "baseline": ["beta-fit", "unsharp"], "pairs": [6, 2],
                          "cnn_err": [0.1, 0.1], "baseline_err": [0.2, 0.05]})
    text, ok = xc._paired_claim(pairs, lambda c, b: c < b, "cnn_err", "baseline_err", "cavities")
    assert ok and "too few" in text  # unsharp found too few common cavities to compare
    text, ok = xc._paired_claim(pairs.assign(pairs=[6, 6]), lambda c, b: c < b, "cnn_err", "baseline_err", "cavities")
    assert not ok
    _, ok = xc._paired_claim(pairs.assign(pairs=[1, 1]), lambda c, b: c < b, "cnn_err", "baseline_err", "cavities")
    assert not ok  # nothing comparable is not a win


def test_stability_summary_is_the_relative_scatter_over_draws():
    stab = pd.DataFrame({"counts": 1e3, "method": "cnn", "cluster": 0, "label": 1, "realisation": range(4),
                         "radius": 4.0, "found": [True, True, True, False], "r_hat": [3.0, 4.0, 5.0, np.nan],
                         "r_area": [2.0, 4.0, 6.0, np.nan]})
    s = xc.stability_summary(stab)
    assert s.found.iloc[0] == 0.75 and s.scatter.iloc[0] == pytest.approx(1.0 / 4.0)
    assert s.scatter_area.iloc[0] == pytest.approx(2.0 / 4.0)
    assert np.isnan(xc.stability_summary(stab, min_found=4).scatter.iloc[0])


def test_simulator_checks_hold():
    assert xc.projection_check().max_rel_err.max() < 0.01
    sweep = xc.deficit_sweep()
    assert np.all(np.diff(sweep[sweep.vary == "radius"].deficit) > 0)
    assert np.all(np.diff(sweep[sweep.vary == "distance"].deficit) < 0)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_the_paper_architecture_trains_through_the_same_path():
    model, history = xc.train_models({"architecture": "inception", "image_size": 32, "n_train": 8, "train_steps": 2,
                                      "batch_size": 2, "decoder_steps": 1})
    assert isinstance(model.segmenter, cn.InceptionNet)
    assert history[history.net == "segmenter"].step.tolist() == [0, 1]
    assert np.isfinite(history.loss).all()
