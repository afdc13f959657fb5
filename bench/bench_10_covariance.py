"""Spectrum of the gradient covariance K: the L x L Gram trick against the explicit D x D matrix (break-even, notebook 10)."""

import numpy as np
import torch

from common import interleaved, max_rel_err, timing
from companion.data import load
from companion.landscape.covariance import covariance_spectrum, dense_covariance, minibatch_gradients
from companion.nn import cnn, train


def digits_cnn_gradients(L=25, B=32, seed=0):
    """L mini-batch gradients (disjoint batches of B) of a digits SimpleCNN [8, 16] after 100 SGD steps at lr 0.1."""
    data = load("digits", n_train=1000, seed=seed)
    X, y = data.X_train, data.y_train
    model = cnn(data.input_shape, [8, 16], data.n_classes, seed=seed)
    train(model, X, y, optimizer="sgd", lr=0.1, batch_size=32, steps=100, seed=seed)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))[:L * B]
    return minibatch_gradients(model, X, y, list(perm.view(L, B)))


def covariance_top():
    """lambda_max(K), Tr(K) and K's L - 1 non-zero eigenvalues: Gram trick vs eigvalsh of the dense D x D covariance."""
    G = digits_cnn_gradients()
    L, D = G.shape
    runs = interleaved({"dense": lambda: torch.linalg.eigvalsh(dense_covariance(G)).flip(0).numpy(),
                        "gram": lambda: covariance_spectrum(G)})
    exact, spec = runs["dense"]["result"], runs["gram"]["result"]
    rows = [dict(library="torch", method="dense D x D covariance + eigvalsh", **timing(runs["dense"]), matvecs=None,
                 max_rel_err=0.0, note=f"exact answer; L={L} mini-batch gradients, D={D}, float64")]
    values = spec.eigenvalues.numpy()
    trace_err = abs(spec.trace - exact.sum()) / exact.sum()
    rows.append(dict(library="companion", method="covariance_spectrum (L x L Gram)", **timing(runs["gram"]), matvecs=None,
                     max_rel_err=max_rel_err(values, exact[:spec.rank]),
                     note=f"all {spec.rank} non-zero eigenvalues; lambda_max {spec.lam_max:.4g}, "
                          f"Tr(K) rel. err {trace_err:.0e}, inverse condition number {spec.inv_cond:.3g}; "
                          f"dense eigenvalues beyond L-1: at most {np.abs(exact[spec.rank:]).max() / exact[0]:.0e} "
                          "of lambda_max"))
    return rows


ENTRIES = {"covariance_top": covariance_top}
