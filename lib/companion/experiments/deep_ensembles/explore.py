"""The explorer: fresh subspace samples around the base solution on the diversity-accuracy plane."""

from types import SimpleNamespace

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ... import rng
from ...landscape import function_space as fs
from .compute import METHODS, sample
from .figures import COLORS, LABELS


def explorer(runs, preds, model, data, p):
    """Sliders: a subspace method, a multiple of its plane setting and a seed -> fresh samples on the plane.

    The seed slider picks the stream ``("explorer samples", seed)`` derived from ``p.seed``.
    """
    base = preds[0, -1]
    ref = float((base.argmax(1) == data.y_test).double().mean())
    ind = fs.diversity_plane(preds[:, -1], data.y_test, base)

    def show(method, multiple, seed):
        q = SimpleNamespace(**{**vars(p), "plane_samples": 20,
                               "plane_diag_scale": p.plane_diag_scale * multiple,
                               "plane_pca_scale": p.plane_pca_scale * multiple,
                               "plane_random_radius": p.plane_random_radius * multiple,
                               "dropout_rate": min(0.95, p.dropout_rate * multiple)})
        thetas = sample(method, runs[0], model, data, q, plane=True,
                        seed=rng.derive(p.seed, "explorer samples", seed))
        pts = fs.diversity_plane(fs.predict_many(model, thetas, data.X_test), data.y_test, base)
        fig, ax = plt.subplots(figsize=(6, 4))
        curves = fs.plane_curves(ref, data.n_classes)
        ax.plot(curves.accuracy, curves.upper, "k-.", curves.accuracy, curves.lower, "k--")
        ax.scatter(pts.accuracy, pts.diversity, color=COLORS[method], label=LABELS[method])
        ax.scatter(ind.accuracy[1:], ind.diversity[1:], marker="*", s=200, color=COLORS["independent"],
                   label=LABELS["independent"])
        ax.set(xlabel="test accuracy", ylabel="disagreement / (1 - accuracy)", xlim=(0, min(1, ref + 0.07)),
               ylim=(-0.1, 2))
        ax.legend(fontsize=8)
        plt.show()

    return widgets.interactive(
        show,
        method=widgets.Dropdown(options=list(METHODS), value="diag", description="method"),
        multiple=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.1, description="scale x"),
        seed=widgets.IntSlider(value=0, min=0, max=20, description="seed"),
    )
