"""The two software modules of the WFI Science Products Module, as documented stand-ins.

The paper (Burrows et al. 2018, arXiv:1808.02883) names the modules but not their algorithms, so
each function here is the standard tool of its class, labelled as a stand-in:

**Background Analysis Module (BAM)**: self-anti-coincidence (SAC), which flags events within a radius
r of a particle track in the same frame, so that the detector acts as its own anti-coincidence
shield (Grant et al. arXiv:2012.01347, Miller et al. arXiv:2202.00064). It trades background removed,
b(r), against area x time lost, f(r). The VFAINT-style 5x5 flag and the background spectrum and map
after flagging, per unit of remaining exposure, complete it.

**Transient Analysis Module (TAM)**: Bayesian blocks (Scargle 2013, with astropy's ``Events`` fitness
and prior) on the target's binned light curve, and a Poisson excess search per sky cell for
serendipitous transients. Both are measured over many trials for detection rate, false alarms and
latency. Trial i draws from its own stream of ``seed`` (:mod:`companion.rng`, keys "trial" or "observation"
and i), so a trial does not depend on how many others are run.
"""

import numpy as np
import pandas as pd
from astropy.stats import bayesian_blocks as astropy_blocks
from astropy.stats.bayesian_blocks import Events
from scipy import special, stats
from scipy.spatial import cKDTree

from ... import rng
from .simulate import light_curve

# ---------------------------------------------------------------- Background Analysis Module


def nearest_in_frame(frame_pts, x_pts, y_pts, frame_q, x_q, y_q):
    """Distance from each query to the nearest point of the same frame (-1 when the frame has none).

    One k-d tree over all frames: frames sit 10^5 pixels apart, far beyond any in-frame distance.
    """
    if not len(frame_q):
        return np.zeros(0)
    if not len(frame_pts):
        return np.full(len(frame_q), -1.0)
    sep = 1e5
    tree = cKDTree(np.column_stack([x_pts + sep * frame_pts, y_pts]).astype(float))
    d, _ = tree.query(np.column_stack([x_q + sep * frame_q, y_q]).astype(float), distance_upper_bound=sep / 4)
    return np.where(np.isfinite(d), d, -1.0)


def area_lost(track_pixels, n_frames, quadrants, radii, n_points=200_000, seed=0):
    """f(r): the fraction of area x time within r pixels of a track pixel in the same frame.

    Estimated at ``n_points`` points drawn uniformly over the sensors and frames (binomial standard
    error sqrt(f(1-f)/n_points)); ``track_pixels`` has columns frame, x, y.
    """
    gen = rng.numpy_rng(seed, "area lost points")
    boxes = np.array(quadrants, dtype=float)
    sizes = (boxes[:, 1] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 2] + 1)
    q = gen.choice(len(boxes), n_points, p=sizes / sizes.sum())
    x = np.floor(gen.uniform(boxes[q, 0], boxes[q, 1] + 1))
    y = np.floor(gen.uniform(boxes[q, 2], boxes[q, 3] + 1))
    frame = gen.integers(0, n_frames, n_points)
    d = nearest_in_frame(*(track_pixels[c].to_numpy() for c in ("frame", "x", "y")), frame, x, y)
    radii = np.asarray(radii, float)
    return ((d[None] >= 0) & (d[None] <= radii[:, None])).mean(axis=1)


def flagged(dist, radius):
    """SAC flag: a track in the same frame lies within ``radius`` pixels (dist -1 means no track)."""
    dist = np.asarray(dist)
    return (dist >= 0) & (dist <= radius)


def sac_curve(background, track_pixels, n_frames, quadrants, radii, signal=None, dist="mipdist",
              n_points=200_000, seed=0):
    """The SAC trade-off: one row per radius r.

    ``flagged`` of the ``n_background`` events of ``background``: their fraction b(r) is ``removed``
    (Agresti-Coull s.e.); ``area_lost``: f(r); ``residual``: (1 - b) / (1 - f), the background per unit of
    remaining exposure relative to no SAC (< 1: SAC pays off); ``signal_lost``: the fraction of the
    ``n_signal`` events of ``signal`` (X-rays) flagged, which should equal f(r) since X-rays do not know
    where the tracks are.
    """
    radii = np.asarray(radii, float)
    n = len(background)
    k = np.array([flagged(background[dist], r).sum() for r in radii], dtype=np.int64)
    b = k / n if n else np.full(len(radii), np.nan)
    f = area_lost(track_pixels, n_frames, quadrants, radii, n_points, seed)
    agresti = (k + 2) / (n + 4)  # Agresti-Coull, so that 0 of n still has a standard error
    out = pd.DataFrame({"radius": radii, "flagged": k, "removed": b,
                        "removed_se": np.sqrt(agresti * (1 - agresti) / (n + 4)), "area_lost": f,
                        "area_lost_se": np.sqrt(f * (1 - f) / n_points), "residual": (1 - b) / (1 - f),
                        "n_background": n})
    if signal is not None:
        out["signal_lost"] = [flagged(signal[dist], r).mean() for r in radii]
        out["n_signal"] = len(signal)
    return out


def poisson_area_lost(tracks_per_frame, area_px, radii, mean_length=0.0):
    """f(r) for tracks scattered at random (a Boolean model): 1 - exp(-rho (pi r^2 + 2 r L)).

    rho = tracks per pixel, L = mean projected track length (px); pi r^2 + 2 r L is the area within r
    of a segment of length L (Steiner's formula), so L = 0 gives point-like tracks.
    """
    r = np.asarray(radii, float)
    return 1 - np.exp(-tracks_per_frame / area_px * (np.pi * r ** 2 + 2 * r * mean_length))


def spectrum(energy, exposure_cm2_s, bins):
    """Counts per cm^2 per s per keV in ``bins`` (keV edges), with the Poisson standard error."""
    counts, _ = np.histogram(energy, bins)
    width = np.diff(bins)
    return pd.DataFrame({"e_lo": bins[:-1], "e_hi": bins[1:], "counts": counts,
                         "rate": counts / exposure_cm2_s / width, "rate_se": np.sqrt(counts) / exposure_cm2_s / width})


def band_rate(energy, exposure_cm2_s, band=(2.0, 7.0)):
    """(rate, s.e.) in counts cm^-2 s^-1 keV^-1 over ``band`` keV, the unit of the WFI background requirement."""
    k = int(((energy >= band[0]) & (energy < band[1])).sum())
    scale = exposure_cm2_s * (band[1] - band[0])
    return k / scale, np.sqrt(k) / scale


def background_map(x, y, n_side, cells, exposure_s):
    """Counts per cell per second on a ``cells`` x ``cells`` grid over an ``n_side``-pixel array."""
    img, _, _ = np.histogram2d(y, x, bins=cells, range=[[0, n_side], [0, n_side]])
    return img / exposure_s


# ---------------------------------------------------------------- Transient Analysis Module


def bayesian_blocks(edges, counts, p0=0.05, n_prior=None):
    """Change points of binned event counts: astropy's ``Events`` fitness and prior on exact bin edges.

    ``astropy.stats.bayesian_blocks(t, x)`` builds its cells from midpoints of ``t``, so bin centres
    give half-width first and last cells that look like rate jumps; this runs the same dynamic
    programme (Scargle 2013) on the true ``edges``. ``n_prior``: the N of the prior
    ncp_prior = 4 - ln(73.53 p0 N^-0.478); None uses the number of events, as for unbinned data.
    Returns the block edges (first and last included). Identical to astropy on unbinned events.
    """
    edges, counts = np.asarray(edges, float), np.asarray(counts, float)
    fit = Events(p0=p0)
    ncp = fit.compute_ncp_prior(max(counts.sum(), 1) if n_prior is None else n_prior)
    n = len(counts)
    best, last = np.zeros(n), np.zeros(n, dtype=np.int64)
    cum = np.concatenate([[0.0], np.cumsum(counts)])
    for r in range(n):
        a = fit.fitness(cum[r + 1] - cum[:r + 1], edges[r + 1] - edges[:r + 1]) - ncp
        a[1:] += best[:r]
        last[r] = i = int(np.argmax(a))
        best[r] = a[i]
    cuts, i = [n], n
    while i > 0:
        i = last[i - 1]
        cuts.append(i)
    return edges[np.array(cuts[::-1])]


def change_points(block_edges):
    """The interior block edges (the change points)."""
    return np.asarray(block_edges)[1:-1]


def flare_trials(n_trials, duration, rate, bin_width, flare, p0=0.05, seed=0, method="edges"):
    """Offline variability test on ``n_trials`` light curves: one row per trial.

    ``flare`` = (start, length, amplitude) or None (constant source). ``detected``: a change point
    within one flare length of the flare's start or end; ``any_change``: any change point at all
    (the false alarm on a constant source). ``method``: "edges" (:func:`bayesian_blocks`) or
    "astropy" (``astropy.stats.bayesian_blocks`` on the bin centres, for comparison).
    """
    edges = np.arange(0.0, duration + 1e-9, bin_width)
    rows = []
    for i in range(n_trials):
        t, counts = light_curve(duration, rate, bin_width, flare, seed=rng.derive(seed, "trial", i))
        if method == "astropy":
            blocks = astropy_blocks(t, counts, fitness="events", p0=p0)
        else:
            blocks = bayesian_blocks(edges, counts, p0)
        cps = change_points(blocks)
        hit = False
        if flare is not None and len(cps):
            start, length, _ = flare
            hit = bool(np.any(np.minimum(np.abs(cps - start), np.abs(cps - start - length)) <= length))
        rows.append({"trial": i, "n_change": len(cps), "any_change": len(cps) > 0, "detected": hit})
    return pd.DataFrame(rows)


def flare_latency(n_trials, rate, bin_width, flare_length, amplitude, window, p0=0.05, seed=0, horizon=None):
    """On-board (online) flare detection: after each new bin, Bayesian blocks on the last ``window`` s.

    The flare starts at ``window`` s; an alarm is a change point later than one bin before the start.
    One row per trial: ``detected`` within ``horizon`` s (default: the flare length plus one window)
    and ``latency`` (s from the flare start to the end of the bin that raised the alarm; NaN if none).
    """
    horizon = flare_length + window if horizon is None else horizon
    duration = window + horizon
    nwin = int(round(window / bin_width))
    edges = np.arange(0.0, duration + 1e-9, bin_width)
    flare = (window, flare_length, amplitude)
    rows = []
    for i in range(n_trials):
        _, counts = light_curve(duration, rate, bin_width, flare, seed=rng.derive(seed, "trial", i))
        latency = np.nan
        for end in range(nwin + 1, len(counts) + 1):
            cps = change_points(bayesian_blocks(edges[end - nwin:end + 1], counts[end - nwin:end], p0))
            if np.any(cps > window - bin_width):
                latency = edges[end] - window
                break
        rows.append({"trial": i, "amplitude": amplitude, "detected": bool(np.isfinite(latency)), "latency": latency})
    return pd.DataFrame(rows)


def online_false_alarms(n_trials, rate, bin_width, window, p0=0.05, seed=0):
    """The per-evaluation false-alarm probability of the online detector on a constant source."""
    edges = np.arange(0.0, window + 1e-9, bin_width)
    counts = [light_curve(window, rate, bin_width, seed=rng.derive(seed, "trial", i))[1] for i in range(n_trials)]
    hits = [len(change_points(bayesian_blocks(edges, c, p0))) > 0 for c in counts]
    return float(np.mean(hits))


def _cell_shares(x, y, psf_sigma, cell):
    """Fractions of a Gaussian PSF at (x, y) px in the 3x3 sky cells around its own: (dcx, dcy, share)."""
    cx, cy = int(x // cell), int(y // cell)
    e = np.array([-1, 0, 1, 2]) * cell
    fx = np.diff(special.ndtr((cx * cell + e - x) / psf_sigma))
    fy = np.diff(special.ndtr((cy * cell + e - y) / psf_sigma))
    return cx, cy, np.outer(fy, fx)


def transient_search(counts, window, n_train=5, alpha=0.05):
    """Poisson excess per sky cell and window (the stand-in for the TAM's serendipitous search).

    ``counts`` is (windows, cy, cx). The expectation of a cell in window j is the larger of its mean
    over windows < j and the field background (the median cell rate, a BAM background map); an alarm
    is P(X >= k | mu) < alpha / (cells x windows tested), so that a constant sky raises at most
    ``alpha`` false alarms per observation (Bonferroni). Testing starts after ``n_train`` windows.
    Returns the alarms as a DataFrame (window, cy, cx, counts, mu, p).
    """
    n_win, n_cells = counts.shape[0], counts[0].size
    threshold = alpha / (n_cells * max(n_win - n_train, 1))
    j = np.arange(n_train, n_win)
    mean = np.cumsum(counts, axis=0)[j - 1] / j[:, None, None]
    mu = np.maximum(mean, np.median(mean.reshape(len(j), -1), axis=1)[:, None, None])
    k = counts[j]
    w, cy, cx = np.nonzero(k > mu + 3 * np.sqrt(mu) + 1)  # sf is only evaluated where it can pass
    p = stats.poisson.sf(k[w, cy, cx] - 1, mu[w, cy, cx])
    ok = p < threshold
    rows = {"window": j[w[ok]], "cy": cy[ok], "cx": cx[ok], "counts": k[w, cy, cx][ok], "mu": mu[w, cy, cx][ok],
            "p": p[ok]}
    return pd.DataFrame(rows)


def transient_trials(n_trials, transient_rate, background_rate, n_side=1024, cell=16, window=100.0, duration=5000.0,
                     transient_length=1000.0, sources=(), psf_sigma=1.0, n_train=5, alpha=0.05, seed=0):
    """Serendipitous transients: ``n_trials`` observations, each with one transient (rate 0: none).

    The sky is a uniform background of ``background_rate`` counts/s over the array (X-ray diffuse plus
    the particle events that pass on-board screening), constant ``sources`` (x, y, counts/s) and a
    transient of ``transient_rate`` counts/s switched on for ``transient_length`` s at a random time
    after the training windows, at a random position. Counts per (window, cell) are Poisson draws
    with those means (the same statistics as binning simulated events). One row per trial:
    ``detected`` (an alarm in the transient's cell or a neighbour, after its onset), ``latency`` (s
    from onset to the end of that window), ``false_alarm`` (any other alarm).
    """
    nc, n_win = n_side // cell, int(round(duration / window))
    t_edges = np.arange(n_win + 1) * window
    base = np.full((nc, nc), background_rate / nc ** 2)
    for x, y, r in sources:
        cx, cy, share = _cell_shares(x, y, psf_sigma, cell)
        _add(base, cx, cy, r * share)
    rows = []
    for i in range(n_trials):
        gen = rng.numpy_rng(seed, "observation", i)
        lam = np.broadcast_to(base * window, (n_win, nc, nc)).copy()
        onset, tx, ty = np.nan, np.nan, np.nan
        if transient_rate > 0:
            onset = gen.uniform(n_train * window, duration - transient_length)
            tx, ty = gen.uniform(cell, n_side - cell, 2)
            on = np.clip(np.minimum(t_edges[1:], onset + transient_length) - np.maximum(t_edges[:-1], onset), 0, None)
            cx, cy, share = _cell_shares(tx, ty, psf_sigma, cell)
            for j in np.nonzero(on)[0]:
                _add(lam[j], cx, cy, transient_rate * on[j] * share)
        alarms = transient_search(gen.poisson(lam), window, n_train, alpha)
        near = pd.Series(False, index=alarms.index)
        if transient_rate > 0 and len(alarms):
            near = ((alarms.cx - int(tx // cell)).abs() <= 1) & ((alarms.cy - int(ty // cell)).abs() <= 1) & (
                t_edges[alarms.window + 1] > onset)
        first = alarms[near].window.min() if near.any() else None
        rows.append({"trial": i, "transient_rate": transient_rate, "onset": onset,
                     "detected": first is not None,
                     "latency": t_edges[first + 1] - onset if first is not None else np.nan,
                     "false_alarm": bool((~near).any()), "n_alarms": len(alarms)})
    return pd.DataFrame(rows)


def _add(img, cx, cy, share):
    """Add a 3x3 ``share`` centred on cell (cx, cy) to ``img``, dropping what falls off the grid."""
    n = img.shape[0]
    for dy in range(3):
        for dx in range(3):
            yy, xx = cy + dy - 1, cx + dx - 1
            if 0 <= yy < n and 0 <= xx < n:
                img[yy, xx] += share[dy, dx]
