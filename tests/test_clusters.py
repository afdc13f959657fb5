"""The cluster simulator, the cavity networks and baselines, and the X-ray cavity experiment functions,
each on a case small enough to know the answer."""

import numpy as np
import pandas as pd
import pytest
import torch
from companion import artifacts
from companion.experiments.xray_cavities.model import train_models
from companion.experiments.xray_cavities.params import ARCHITECTURES
from companion.nn import n_parameters
from companion.physics.clusters import baselines, candidates, instrument, nets, training
from companion.physics.clusters import projection as pr
from companion.physics.clusters import simulation as sim
from scipy.integrate import quad

# ---------------------------------------------------------------------------------------------
# Projection


def _elliptical_radius(c, size):
    dx, dy = pr._grid(c, size)
    cos, sin = np.cos(c.angle), np.sin(c.angle)
    return np.hypot(cos * dx + sin * dy, (-sin * dx + cos * dy) / (1 - c.ellipticity))


@pytest.mark.parametrize("rc, beta, ell", [(2.5, 0.5, 0.0), (4.0, 2 / 3, 0.2), (10.0, 1.0, 0.3), (6.0, 1.1, 0.1)])
def test_projected_beta_model_matches_the_analytic_profile_within_one_percent(rc, beta, ell):
    c = pr.Cluster(x=30.7, y=33.2, rc=rc, beta=beta, ellipticity=ell, angle=0.9)
    _, plain, labels = pr.render(c, 64)
    analytic = pr.projected_beta(_elliptical_radius(c, 64), rc, beta)
    assert np.abs(plain / analytic - 1).max() < 0.01
    assert np.abs(plain / analytic - 1).max() < 1e-4  # in fact far better, out to the image corners
    assert not labels.any()


def test_projected_beta_is_the_line_of_sight_integral():
    rc, beta, R = 3.0, 0.8, 5.0
    exact = quad(lambda z: (1 + (R ** 2 + z ** 2) / rc ** 2) ** (-3 * beta), -np.inf, np.inf)[0]
    assert pr.projected_beta(R, rc, beta) == pytest.approx(exact, rel=1e-10)
    with pytest.raises(ValueError, match="beta > 1/6"):
        pr.projected_beta(1.0, 1.0, 0.1)


def test_line_of_sight_nodes_integrate_to_infinity():
    z, w = pr.los_nodes(64)  # step 0.5: exact to 1e-9 for widths >= 4 steps, as the module doc says
    for a in (2.0, 4.0, 8.0):
        assert np.sum(w / (1 + (z / a) ** 2) ** 2) == pytest.approx(a * np.pi / 2, rel=1e-9 if a > 2 else 1e-4)
    assert np.all(np.diff(z) > 0) and np.all(w > 0)


# ---------------------------------------------------------------------------------------------
# Cavities


CAVITY = pr.Cavity(distance=9.0, azimuth=0.7, radius=5.0, inclination=0.3, elongation=1.2)
CLUSTER = pr.Cluster(x=32.2, y=31.6, rc=4.0, beta=0.7, cavities=(CAVITY,))


def _chord(cav, c, dx, dy):
    """The exact depths (z1, z2) where the line of sight through (dx, dy) is inside the cavity, or None."""
    centre, A = pr._shape(cav)
    ex, ey = dx - centre[0], dy - centre[1]
    a, b = A[2, 2], A[0, 2] * ex + A[1, 2] * ey
    c0 = A[0, 0] * ex ** 2 + 2 * A[0, 1] * ex * ey + A[1, 1] * ey ** 2 - 1
    disc = b * b - a * c0
    if disc <= 0:
        return None
    return (-b - np.sqrt(disc)) / a + centre[2], (-b + np.sqrt(disc)) / a + centre[2]


@pytest.mark.parametrize("step", [0.5, 0.05])
def test_a_cavity_deficit_is_where_the_mask_says_and_equals_the_missing_emission(step):
    bright, plain, labels = pr.render(CLUSTER, 64, step=step)
    deficit, mask = plain - bright, labels == 1
    assert np.all(deficit[~mask] == 0)  # nothing changes outside the projected footprint
    assert np.all(deficit[mask] > 0)  # and every pixel inside it is darker
    dx, dy = pr._grid(CLUSTER, 64)
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
    empty, plain, _ = pr.render(CLUSTER, 64)
    half = pr.Cluster(**{**CLUSTER.__dict__, "cavities": (pr.Cavity(**{**CAVITY.__dict__, "fill": 0.4}),)})
    filled, _, _ = pr.render(half, 64)
    np.testing.assert_allclose(plain - filled, 0.6 * (plain - empty), rtol=1e-12, atol=1e-15)


def test_a_rim_brightens_only_around_its_cavity():
    cav = pr.Cavity(distance=10.0, azimuth=2.0, radius=4.0, rim=0.5, rim_width=1.5)
    c = pr.Cluster(x=32, y=32, rc=5.0, beta=0.67, cavities=(cav,))
    bright, plain, labels = pr.render(c, 64)
    grown = pr.Cavity(distance=10.0, azimuth=2.0, radius=5.5)  # the rim's outer surface
    dx, dy = pr._grid(c, 64)
    outer = pr._footprint(grown, dx, dy)
    assert np.all(bright[~outer] == plain[~outer])
    ring = outer & (labels == 0)
    assert np.all(bright[ring] > plain[ring])


def test_truth_radius_is_that_of_the_circle_with_the_projected_area():
    assert pr.cavity_radius(pr.Cavity(distance=8, azimuth=1, radius=5.0)) == pytest.approx(5.0, rel=1e-12)
    assert pr.cavity_radius(pr.Cavity(distance=8, azimuth=1, radius=4.0, elongation=1.5)) == pytest.approx(
        4.0 * np.sqrt(1.5), rel=1e-12)
    # seen end on, a prolate cavity shows its round cross-section
    assert pr.cavity_radius(pr.Cavity(distance=8, azimuth=1, radius=4.0, elongation=1.5,
                                      inclination=np.pi / 2)) == pytest.approx(4.0, rel=1e-9)
    c = pr.Cluster(x=32, y=32, rc=4, beta=0.7, cavities=(pr.Cavity(distance=12, azimuth=0.3, radius=6.0, elongation=1.2),))
    _, _, labels = pr.render(c, 64)
    area = np.pi * pr.cavity_radius(c.cavities[0]) ** 2
    assert abs(labels.sum() - area) < 0.05 * area


# ---------------------------------------------------------------------------------------------
# Counts and seeds


def test_same_seed_same_image_and_each_image_independent_of_the_batch():
    a, b = sim.simulate(3, 5, "test"), sim.simulate(3, 5, "test")
    np.testing.assert_array_equal(a.observe(2000, 1), b.observe(2000, 1))
    np.testing.assert_array_equal(a.labels, b.labels)
    pd.testing.assert_frame_equal(a.cavities, b.cavities)
    two = sim.simulate(2, 5, "test")
    np.testing.assert_array_equal(two.observe(2000, 1), a.observe(2000, 1)[:2])
    assert not np.array_equal(a.observe(2000, 1, 1), a.observe(2000, 1))


def test_seeds_and_streams_share_no_cluster_and_no_noise():
    a = sim.simulate(3, 0, "test")
    unit = lambda s: s.unit.reshape(len(s.unit), -1)
    for other in (sim.simulate(3, 1, "test"), sim.simulate(3, 0, "calibration")):
        assert not (unit(other)[:, None] == unit(a)[None]).all(-1).any()  # no image repeated anywhere
    # seed 0's draw 1 is not seed 1's draw 0 (as it would be with seed + k)
    assert not np.array_equal(a.observe(2000, 0, 1), a.observe(2000, 1, 0))


def test_expected_counts_are_the_cluster_plus_background_times_exposure():
    c = pr.Cluster(x=32, y=32, rc=5.0, beta=0.7, counts=1234.0, background=0.25)
    bright, plain, _ = pr.render(c, 64)
    assert pr.expected_counts(bright, plain, c).sum() == pytest.approx(1234.0 * 1.25, rel=1e-12)
    v = pr.Cluster(**{**c.__dict__, "vignetting": 0.2})
    ratio = pr.expected_counts(bright, plain, v) / pr.expected_counts(bright, plain, c)
    np.testing.assert_allclose(ratio, pr.exposure_map(64, 0.2))
    assert pr.exposure_map(64, 0.2).max() < 1 and pr.exposure_map(64, 0.2).min() == pytest.approx(1 - 0.2 * 31.5 ** 2 / 32 ** 2)


def test_poisson_counts_average_to_the_expectation():
    sample = sim.simulate(1, 0, "test")
    draws = np.stack([sample.observe(5000, 0, r)[0] for r in range(400)])
    expected = sample.unit[0] * 5000
    assert draws.sum((1, 2)).mean() == pytest.approx(expected.sum(), rel=0.01)
    assert draws.sum((1, 2)).var() == pytest.approx(expected.sum(), rel=0.2)  # Poisson: variance = mean


def test_the_prior_gives_cavities_inside_the_image_and_about_the_asked_fraction():
    sample = sim.simulate(200, 1, "test")
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
# Point sources and the PSF


def test_a_king_source_has_unit_flux_on_the_plane():
    # the integral of (1 + r^2/r0^2)^(-3/2) / (2 pi r0^2) within radius R is 1 - (1 + R^2/r0^2)^(-1/2)
    image = instrument.king(401, 200.5, 200.5, 3.0)
    inside, outside = 1 - (1 + 200 ** 2 / 9) ** -0.5, 1 - (1 + 2 * 200 ** 2 / 9) ** -0.5  # circles in / around the grid
    assert inside - 1e-3 < image.sum() < outside + 1e-3
    assert image.argmax() == 200 * 401 + 200 and image.max() == pytest.approx(1 / (2 * np.pi * 9))


def test_the_psf_keeps_the_flux_and_has_the_asked_width():
    delta = np.zeros((41, 41))
    delta[20, 20] = 1.0
    psf = instrument.blur(delta, 1.5)
    y = np.arange(41) - 20
    assert psf.sum() == pytest.approx(1.0, abs=1e-6)
    assert (psf.sum(0) * y ** 2).sum() == pytest.approx(1.5 ** 2, rel=0.01)
    assert instrument.blur(delta, 0.0) is delta


def test_sources_and_psf_are_switches_that_leave_the_cluster_unchanged():
    assert sim.instrument_prior() == sim.PRIOR
    clean = sim.draw(20, 3, "test")
    both = sim.draw(20, 3, "test", sim.instrument_prior(point_sources=True, psf=True))
    assert [c.cavities for c in clean] == [c.cavities for c in both]  # drawn last: the same clusters and cavities
    assert all(c.sources == () and c.psf == 0 for c in clean) and all(c.psf == instrument.PSF_SIGMA for c in both)
    assert sum(len(c.sources) for c in both) > 0
    c = next(c for c in both if c.sources)
    plain = pr.Cluster(**{**c.__dict__, "sources": (), "psf": 0.0})
    bright, flat, _ = pr.render(plain, 64)
    points = pr.Cluster(**{**c.__dict__, "psf": 0.0})
    added = pr.expected_counts(bright, flat, points) - pr.expected_counts(bright, flat, plain)
    expected = pr.exposure_map(64, c.vignetting) * c.counts * instrument.sources_map(c.sources, 64, 1.0)
    np.testing.assert_allclose(added, expected, rtol=1e-9, atol=1e-9)
    blurred = pr.expected_counts(bright, flat, pr.Cluster(**{**plain.__dict__, "psf": 1.0}))
    assert blurred.sum() == pytest.approx(pr.expected_counts(bright, flat, plain).sum(), rel=0.01)


# ---------------------------------------------------------------------------------------------
# Networks, candidates, baselines


def test_networks_shapes_and_the_paper_architecture_size():
    x = torch.zeros(2, 1, 32, 32)
    assert nets.UNet((4, 8, 16))(x).shape == (2, 32, 32)
    assert n_parameters(nets.InceptionNet(), trainable=True) == 563_146  # CADET's "Stan's model": 563,146 trainable
    assert nets.InceptionNet(scale=0.125)(x).shape == (2, 32, 32)
    with pytest.raises(ValueError, match="architecture"):
        nets.segmenter("resnet")
    assert tuple(nets.NETWORKS) == ARCHITECTURES  # the parameter's choices are the networks there are


def test_model_initialisation_comes_from_its_seed_alone():
    state = lambda m: torch.cat([v.flatten().float() for v in m.state_dict().values()])
    torch.manual_seed(5)
    a = nets.CavityModel("unet", (4, 8), seed=0)
    torch.manual_seed(6)  # the global generator plays no part
    assert torch.equal(state(a), state(nets.CavityModel("unet", (4, 8), seed=0)))
    b = nets.CavityModel("unet", (4, 8), seed=1)
    assert not torch.equal(state(a.segmenter), state(b.segmenter))
    assert not torch.equal(state(a.decoder), state(b.decoder))


def test_untrained_decoder_returns_the_area_radius():
    crops = torch.zeros(3, 2, 16, 16)
    for i, r in enumerate((2, 3, 5)):
        crops[i, 1, :r, :r] = 1
    radius = torch.exp(nets.RadiusDecoder().eval()(crops))
    np.testing.assert_allclose(radius.detach().numpy(), np.sqrt(np.array([4, 9, 25]) / np.pi), rtol=1e-6)


def test_components_keep_regions_above_the_threshold_and_minimum_area():
    score = np.zeros((2, 10, 10))
    score[0, 1:4, 1:4] = 0.9  # 9 pixels
    score[0, 9, 0] = 0.9  # 1 pixel: dropped by min_area
    score[0, 5, 5] = 0.6
    score[0, 6, 6] = 0.6  # diagonal neighbours: one 8-connected region of 2
    found, table = candidates.components(score, 0.5, min_area=2)
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
    table = pd.DataFrame({"image": [0, 0, 0], "component": [1, 2, 3]})
    cav, cands = candidates.match(found, table, truth, min_iou=0.2)
    assert cav.component.tolist() == [1, 0] and cav.iou.tolist() == [0.5, 0.0]
    assert cands.true.tolist() == [True, False, False]


def test_beta_fit_recovers_a_noise_free_model():
    true = torch.tensor([[31.3, 33.1, np.log(4.0), 0.3, np.log(50.0), np.log(0.5), 0.1, -0.05]], dtype=torch.float64)
    model = baselines._beta_surface(true, 64).numpy()
    fit, params = baselines.fit_beta(model, iterations=40)
    np.testing.assert_allclose(fit, model, rtol=1e-5)
    np.testing.assert_allclose(params, true.numpy(), atol=1e-3)


def test_beta_jacobian_is_the_derivative():
    p = torch.tensor([[16.2, 15.1, 1.2, 0.3, 2.0, -1.0, 0.1, -0.05]], dtype=torch.float64)
    _, J = baselines._beta_surface(p, 32, jacobian=True)
    auto = torch.autograd.functional.jacobian(lambda q: baselines._beta_surface(q, 32), p)[0, :, :, 0].permute(2, 0, 1)
    torch.testing.assert_close(J[0], auto, rtol=1e-10, atol=1e-12)


def test_baseline_maps_vanish_without_structure():
    model = np.full((2, 16, 16), 3.0)
    np.testing.assert_allclose(baselines.beta_residual(model, model), 0.0, atol=1e-12)
    np.testing.assert_allclose(baselines.unsharp_mask(model), 0.0, atol=1e-12)
    # one sigma of smoothed Poisson noise: a deficit of sqrt(sum g^2 m) in the smoothed residual reads -1
    counts = model.copy()
    counts[0, 8, 8] -= 1.0
    z = baselines.beta_residual(counts, model, sigma=1.0)
    assert z[0, 8, 8] < 0 and z[1].max() == 0


def test_segmenter_training_is_repeatable_and_learns():
    sample = sim.simulate(16, 0, "train")
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # training must not depend on the global generator
        model = nets.UNet((4, 8))
        history = training.train_segmenter(model, sample, steps=6, batch_size=4, lr=5e-3, seed=3, log_every=1)
        runs.append((history, model.state_dict()))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    for k, v in runs[0][1].items():
        assert torch.equal(v, runs[1][1][k])
    assert runs[0][0].loss.iloc[-1] < runs[0][0].loss.iloc[0]


def _discs(n=32, size=16):
    """Crops of discs of radius r in the mask channel (probability 0.8 inside) and truth radii 20 % larger."""
    gen = torch.Generator().manual_seed(0)
    X, radius = torch.zeros(n, 2, size, size), torch.empty(n)
    yy, xx = torch.meshgrid(torch.arange(size) - 7.5, torch.arange(size) - 7.5, indexing="ij")
    for i in range(n):
        r = 2 + 5 * torch.rand(1, generator=gen).item()
        disc = (yy ** 2 + xx ** 2 <= r ** 2).float()
        X[i, 0], X[i, 1], radius[i] = 0.8 * disc, disc, r * 1.2
    return X, radius


def test_decoder_training_is_repeatable_and_fits_the_radii():
    X, radius = _discs()
    where = pd.DataFrame({"image": range(32), "component": 1, "y": 8.0, "x": 8.0})
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        decoder = nets.RadiusDecoder(width=4)
        history = training.train_decoder(decoder, X, torch.log(radius), steps=60, batch_size=16, lr=1e-2, seed=1,
                                         log_every=1)
        runs.append((history, nets.decode(decoder, X[:, 0].numpy(), X[:, 1].numpy().astype(int), where, crop=16)))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    before = np.median(np.abs(np.sqrt(X[:, 1].sum((1, 2)).numpy() / np.pi) / radius.numpy() - 1))
    after = np.median(np.abs(runs[0][1] / radius.numpy() - 1))
    assert before > 0.1 and after < before / 2  # it learns the bias the area radius cannot see


def test_a_diverging_run_stops_and_says_where():
    X, radius = _discs(8)
    history = training.train_decoder(nets.RadiusDecoder(width=4), X, torch.log(radius), steps=5, lr=1e30, log_every=1)
    assert np.isnan(history.loss.iloc[-1]) and len(history) < 5


# ---------------------------------------------------------------------------------------------
# The experiment package


def test_training_at_reduced_size_gives_the_same_bytes_twice(tmp_path):
    config = {"n_train": 24, "train_steps": 3, "batch_size": 4, "decoder_steps": 2, "widths": [4, 8]}
    before = torch.get_num_threads()
    digests = []
    for name in ("a.pt", "b.pt"):
        model, history = train_models(config)
        assert torch.get_num_threads() == before  # the caller's thread count is restored
        digests.append(artifacts.save(model, tmp_path / name))
        assert digests[-1] == artifacts.state_sha256(model)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    assert history[history.net == "segmenter"].step.tolist() == [0, 2]
    model = nets.CavityModel("unet", [4, 8])
    model.load_state_dict(torch.load(tmp_path / "a.pt", weights_only=True))
    assert model.segmenter.widths == (4, 8)
