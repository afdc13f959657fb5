"""The X-ray cavity experiment's functions (scores, paired comparisons, bootstrap intervals, the claims'
rules), each on a case small enough to know the answer."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from companion.experiments import xray_cavities as paper
from companion.experiments.xray_cavities import compute, uncertainty
from companion.experiments.xray_cavities.claims import CLAIMS, decoder_values, paired_values
from companion.physics.clusters import nets
from companion.physics.clusters import projection as pr
from companion.physics.clusters import simulation as sim

CAVITY = pr.Cavity(distance=9.0, azimuth=0.7, radius=5.0, inclination=0.3, elongation=1.2)


def test_score_counts_pixels_images_and_radii():
    labels = np.zeros((2, 8, 8), np.int8)
    labels[0, 0:4, 0:4] = 1
    unit = np.ones((2, 8, 8), np.float32)
    sample = sim.Sample(unit, labels, pd.DataFrame({"image": [0], "label": [1], "radius": [2.0], "distance": [5.0],
                                                    "fill": [0.0]}),
                        [pr.Cluster(0, 0, 1, 1, cavities=(CAVITY,)), pr.Cluster(0, 0, 1, 1)])
    found = np.zeros((2, 8, 8), np.int32)
    found[0, 0:4, 0:2] = 1  # half the cavity
    found[1, 6:8, 6:8] = 1  # a false detection in the cavity-free image
    table = pd.DataFrame({"image": [0, 1], "component": [1, 1], "radius": [2.5, 1.0], "radius_area": [1.6, 1.1]})
    summary, _ = compute.score(sample, found, table)
    assert summary["iou"] == pytest.approx(8 / 20)
    assert (summary["tpr"], summary["fpr"], summary["recall"]) == (1.0, 1.0, 1.0)
    assert summary["false_per_image"] == 0.5
    assert summary["radius_err"] == pytest.approx(0.25) and summary["radius_err_area"] == pytest.approx(0.2)


def test_paired_comparisons_and_claims_judge_what_they_say():
    pairs = pd.DataFrame({"counts": [1e3, 1e3], "baseline": ["beta-fit", "unsharp"], "pairs": [6, 2],
                          "cnn_err": [0.1, 0.1], "baseline_err": [0.2, 0.05], "diff": [-0.1, 0.05],
                          "lo": [-0.15, 0.01], "hi": [-0.02, 0.1]})
    rule = {c.id: c for c in CLAIMS}["C4f"].rule  # the radius claim at 1,000 counts

    def judge(table):
        values = paired_values("radius_err", table, "cnn_err", "baseline_err")
        return rule(values), values["radius_err_text_1000"]

    verdict, text = judge(pairs)
    assert verdict == "holds" and "unsharp: 2 common cavities, too few" in text  # unsharp found too few to compare
    assert "difference -0.100 [-0.150, -0.020] (n=6)" in text
    assert judge(pairs.assign(pairs=[6, 6]))[0] == "fails"  # the unsharp mask is better beyond its interval
    assert judge(pairs.assign(hi=[0.01, 0.1]))[0] == "undecided"  # the interval contains zero
    assert judge(pairs.assign(pairs=[1, 1]))[0] == "fails"  # nothing comparable is not a win


def test_paired_medians_compare_on_the_cavities_both_measured():
    index = pd.MultiIndex.from_tuples([(1e3, 0), (1e3, 1), (1e3, 2)], names=["counts", "image"])
    wide = pd.DataFrame({"cnn": [0.1, 0.3, np.nan], "beta-fit": [0.2, 0.4, 0.5], "unsharp": [np.nan] * 3}, index=index)
    out = compute.paired_medians(wide, [1e3], "err", "image", 200, 0, {"area": wide * 2})
    row = out.set_index("baseline").loc["beta-fit"]
    assert (row.pairs, row.cnn_err, row.baseline_err, row.area) == (2, pytest.approx(0.2), pytest.approx(0.3),
                                                                    pytest.approx(0.4))
    # every pair differs by -0.1, so every resample does too
    assert (row["diff"], row.lo, row.hi) == (pytest.approx(-0.1), pytest.approx(-0.1), pytest.approx(-0.1))
    assert out.set_index("baseline").loc["unsharp"].pairs == 0 and np.isnan(out.set_index("baseline").loc["unsharp"].lo)


def test_decoder_gain_compares_the_two_radii_of_the_same_candidates():
    # three cavities the CNN found at one level, each read 0.1 R closer by the decoder; a missed one and a
    # baseline's row are left out
    cav = pd.DataFrame({"counts": 1e3, "method": ["cnn"] * 4 + ["beta-fit"], "image": [0, 1, 1, 2, 0],
                        "found": [True, True, True, False, True], "radius": 4.0,
                        "r_hat": [4.4, 3.6, 4.8, np.nan, 9.0], "r_area": [4.8, 3.2, 5.2, np.nan, 9.0]})
    row = paper.decoder_gain(cav, 200, 0).iloc[0]
    assert (row.n, row.decoder_err, row.area_err) == (3, pytest.approx(0.1), pytest.approx(0.2))
    assert (row["diff"], row.lo, row.hi) == (pytest.approx(-0.1),) * 3  # the same difference in every resample
    assert paper.decoder_gain(cav[cav.method != "cnn"], 200, 0).empty


def test_the_decoder_claim_needs_every_level_s_interval_below_zero():
    rule = {c.id: c for c in CLAIMS}["C3"].rule
    gain = pd.DataFrame({"counts": [1e3, 3e3], "n": [10, 12], "decoder_err": [0.2, 0.15], "area_err": [0.3, 0.25],
                         "diff": [-0.1, -0.1], "lo": [-0.15, -0.2], "hi": [-0.05, -0.01]})

    def judge(table):
        return rule(decoder_values(table))

    assert judge(gain) == "holds"  # below zero at both levels
    assert decoder_values(gain)["decoder_minus_area_err_hi_max"] == -0.01
    assert "1,000 counts: 0.200 vs 0.300, difference -0.100 [-0.150, -0.050] (n=10)" in decoder_values(gain)[
        "decoder_text"]
    assert judge(gain.assign(hi=[-0.05, 0.02])) == "undecided"  # one level's interval contains zero
    assert judge(gain.assign(lo=[-0.15, 0.01], hi=[-0.05, 0.2])) == "fails"  # above zero at one level
    assert judge(gain.assign(lo=[np.nan, -0.2])) == "undecided"  # an interval that is not a number
    assert judge(gain.iloc[:0]) == "undecided"  # the CNN found nothing


def test_detection_table_puts_the_methods_side_by_side():
    effect = pd.DataFrame({"condition": "clean", "counts": [1e3] * 3 + [3e3] * 3, "method": list(paper.METHODS) * 2,
                           "clusters": 8, "tpr": [0.5, 0.25, 0.75, 1.0, 0.5, 0.5], "fpr": 0.25, "margin": [-0.25] * 3
                           + [0.5] * 3, "margin_lo": -0.5, "margin_hi": 1.0})
    table = paper.detection_table(effect.assign(detection=effect.tpr - effect.fpr))
    assert table.counts.tolist() == [1e3, 3e3] and table["unsharp tpr"].tolist() == [0.75, 0.5]
    assert table["cnn detection"].tolist() == [0.25, 0.75] and table.margin.tolist() == [-0.25, 0.5]


def test_the_clean_condition_of_the_instrument_table_is_the_test_sets_detection():
    # with the run's switches off, the clean images of the panel are the test set's first clusters, observed with
    # the same streams: on a test set that small, the same TPR and FPR as the main evaluation
    p = SimpleNamespace(**paper.TRAINED, retrain=False, counts=[3000.0, 30000.0], n_test=4, n_calibration=4,
                        threshold=0.5, min_area=5, fit_iterations=20, n_boot=100, point_sources=False, psf=False,
                        seed=0, device="cpu")
    model = paper.load_committed()
    thresholds, _ = paper.calibrate(model, p)
    metrics = paper.evaluate(model, paper.test_set(p), p, thresholds)[0]
    effect = paper.instrument_effect(model, p, thresholds)
    assert len(effect) == 4 * 2 * 3 and set(effect.clusters) == {4}
    clean = effect[effect.condition == "clean"].set_index(["counts", "method"])
    main = metrics.set_index(["counts", "method"]).loc[clean.index]
    np.testing.assert_array_equal(clean[["tpr", "fpr"]].to_numpy(), main[["tpr", "fpr"]].to_numpy())


# ---------------------------------------------------------------------------------------------
# Bootstrap intervals (the bootstrap itself: test_core.py)


def test_weighted_median_and_median_difference():
    assert uncertainty.weighted_median([1.0, 2.0, 10.0], [0, 2, 1]) == 2.0
    assert np.isnan(uncertainty.weighted_median([1.0], [0]))
    x = np.array([0.3, 0.1, 0.7, 0.2])
    assert uncertainty.median_difference(x - 1, x, [0, 0, 1, 2], 300, 0, "t") == pytest.approx((-1, -1, -1))
    assert np.isnan(uncertainty.median_difference([], [], [], 300, 0, "t")).all()


def test_image_margins_of_a_perfect_cnn_are_one_with_no_width():
    has = np.array([True, True, False, False, True, False])
    rows = [pd.DataFrame({"image": range(6), "has_cavity": has, "detected": detected, "inter": inter,
                          "union": 4, "method": m})
            for m, detected, inter in (("cnn", has, 4), ("beta-fit", True, 0), ("unsharp", ~has, 2))]
    margins = uncertainty.image_margins(pd.concat(rows), ("beta-fit", "unsharp"), 500, 0, "t")
    assert margins["detection"] == (1.0, 1.0, 1.0)  # TPR - FPR: 1 against 0 and -1, in every resample
    assert margins["iou"] == (0.5, 0.5, 0.5)  # pooled IoU 1 against 0 and 1/2


def test_stability_summary_is_the_relative_scatter_over_draws():
    stab = pd.DataFrame({"counts": 1e3, "method": "cnn", "cluster": 0, "label": 1, "realisation": range(4),
                         "radius": 4.0, "found": [True, True, True, False], "r_hat": [3.0, 4.0, 5.0, np.nan],
                         "r_area": [2.0, 4.0, 6.0, np.nan]})
    s = paper.stability_summary(stab)
    assert s.found.iloc[0] == 0.75 and s.scatter.iloc[0] == pytest.approx(1.0 / 4.0)
    assert s.scatter_area.iloc[0] == pytest.approx(2.0 / 4.0)
    assert np.isnan(paper.stability_summary(stab, min_found=4).scatter.iloc[0])


def test_simulator_checks_hold():
    assert paper.projection_check().max_rel_err.max() < 0.01
    sweep = paper.deficit_sweep()
    assert np.all(np.diff(sweep[sweep.vary == "radius"].deficit) > 0)
    assert np.all(np.diff(sweep[sweep.vary == "distance"].deficit) < 0)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_the_paper_architecture_trains_through_the_same_path():
    model, history = paper.train_models({"architecture": "inception", "image_size": 32, "n_train": 8, "train_steps": 2,
                                         "batch_size": 2, "decoder_steps": 1})
    assert isinstance(model.segmenter, nets.InceptionNet)
    assert history[history.net == "segmenter"].step.tolist() == [0, 1]
    assert np.isfinite(history.loss).all()
