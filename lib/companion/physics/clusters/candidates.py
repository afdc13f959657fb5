"""Candidate cavities: connected pixels above a threshold, matched to the truth, cropped for the decoder."""

import math

import numpy as np
import pandas as pd
import torch
from scipy import ndimage

EIGHT = np.ones((3, 3), bool)
COLUMNS = ["image", "component", "area", "y", "x", "peak", "radius_area"]


def components(score, threshold, min_area=1):
    """Connected (8-neighbour) regions of ``score > threshold`` with at least ``min_area`` pixels.

    ``score``: (n, H, W). Returns (labels (n, H, W) int32 with 0 = none and 1.. per image, table
    with one row per region: image, component, area, y, x (centroid, pixel centres at i + 0.5),
    peak (largest score), radius_area = sqrt(area / pi)).
    """
    score = np.asarray(score)
    out = np.zeros(score.shape, np.int32)
    rows = []
    for i, s in enumerate(score):
        lab, n = ndimage.label(s > threshold, structure=EIGHT)
        if n == 0:
            continue
        idx = np.arange(1, n + 1)
        area = ndimage.sum_labels(np.ones_like(s), lab, idx)
        keep = idx[area >= min_area]
        if len(keep) == 0:
            continue
        renumber = np.zeros(n + 1, np.int32)
        renumber[keep] = np.arange(1, len(keep) + 1)
        out[i] = renumber[lab]
        centres = ndimage.center_of_mass(np.ones_like(s), lab, keep)
        peaks = ndimage.maximum(s, lab, keep)
        for j, (k, (cy, cx), pk) in enumerate(zip(keep, centres, peaks), 1):
            a = float(area[k - 1])
            rows.append({"image": i, "component": j, "area": a, "y": cy + 0.5, "x": cx + 0.5, "peak": float(pk),
                         "radius_area": math.sqrt(a / math.pi)})
    return out, pd.DataFrame(rows, columns=COLUMNS)


def match(found, table, labels, min_iou=0.2):
    """Match candidates to true cavities by overlap.

    ``found``: candidate labels (n, H, W); ``table``: their rows from :func:`components`;
    ``labels``: truth labels (n, H, W). Returns (cavities, candidates): per true cavity (image,
    label) the best candidate's ``component`` (0 when none reaches IoU ``min_iou``) and its
    ``iou``; per candidate whether it matched a cavity (``true``).
    """
    cav_rows, matched = [], set()
    for i in range(len(labels)):
        truth = labels[i]
        for k in np.unique(truth[truth > 0]):
            t = truth == k
            cands, inter = np.unique(found[i][t & (found[i] > 0)], return_counts=True)
            best, best_iou = 0, 0.0
            for c, n in zip(cands, inter):
                iou = n / np.count_nonzero(t | (found[i] == c))
                if iou > best_iou:
                    best, best_iou = int(c), float(iou)
            ok = best_iou >= min_iou
            cav_rows.append({"image": i, "label": int(k), "component": best if ok else 0, "iou": best_iou})
            if ok:
                matched.add((i, best))
    cavities = pd.DataFrame(cav_rows, columns=["image", "label", "component", "iou"])
    cands = table.assign(true=[(int(i), int(c)) in matched for i, c in zip(table.image, table.component)])
    return cavities, cands


def crops(prob, found, table, size=32):
    """Decoder input (m, 2, size, size): the probability map and the candidate's own mask, centred on
    each candidate of ``table`` (zero outside the image)."""
    m = len(table)
    out = np.zeros((m, 2, size, size), np.float32)
    H, W = prob.shape[1:]
    half = size // 2
    for r, row in enumerate(table.itertuples()):
        i, cy, cx = int(row.image), int(row.y), int(row.x)
        y0, x0 = cy - half, cx - half
        ys, xs = slice(max(0, y0), min(H, y0 + size)), slice(max(0, x0), min(W, x0 + size))
        dst = (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0))
        out[r, 0][dst] = prob[i][ys, xs]
        out[r, 1][dst] = found[i][ys, xs] == row.component
    return torch.from_numpy(out)
