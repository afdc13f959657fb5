"""The ipywidgets explorer of the toy wedge model."""

import numpy as np

from ...landscape import wedges as W
from .toy import toy_model, toy_plane


def explorer(p):
    """Sliders over the toy: short dimension, width growth eps, reach, offset radius and seed index -> lowest loss
    against d (the seed index draws the same wedges and directions as the notebook's toy of that seed)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(n=p.toy_short, eps=p.toy_eps, reach=p.toy_reach, radius=1.0, seed=0):
        model = toy_model(p, seed, eps=eps, n=n)
        M, u = toy_plane(p, seed, width=min(p.toy_dim, 2 * n))
        u = radius * u
        dims = sorted({max(1, round(x)) for x in np.linspace(1, M.shape[1], 25)})
        _, ax = plt.subplots(figsize=(6, 3.6))
        for r, name in ((None, "whole plane"), (reach, f"reach {reach:g}")):
            ax.plot(dims, [W.plane_minimum(model, u, M[:, :d], reach=r)["loss"] + 1e-6 for d in dims], marker=".",
                    label=name)
        ax.axvline(n, color="k", ls=":", lw=0.8)
        ax.set(yscale="log", xlabel="plane dimension d", ylabel="lowest toy loss + 1e-6",
               title=f"D = {p.toy_dim}, n = {n}, eps = {eps:.3f}, radius {radius:g}")
        ax.legend()
        plt.show()

    return widgets.interactive(
        show,
        n=widgets.IntSlider(value=p.toy_short, min=1, max=max(2, p.toy_dim // 4), description="n"),
        eps=widgets.FloatSlider(value=p.toy_eps, min=0.0, max=0.5, step=0.01, description="eps"),
        reach=widgets.FloatLogSlider(value=max(p.toy_reach, 0.01), base=10, min=-1, max=2, description="reach"),
        radius=widgets.FloatLogSlider(value=1.0, base=10, min=-2, max=2, description="radius"),
        seed=widgets.IntSlider(value=0, min=0, max=20, description="seed"),
    )
