"""The Goldilocks explorer: the spectrum of H_d for one init, recomputed behind sliders."""

import numpy as np
import torch

from .compute import ray_point


def spectrum_explorer(data, p):
    """Radius (init scale), subspace dimension, activation and ray -> the spectrum of H_d.

    Ray ``s`` is the notebook's: the same init direction and subspace as row ``s`` of the curvature sweep.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    X, y = data.split("train", p.device, torch.float64)

    def show(scale, dim, activation, ray):
        point = ray_point(data, p, X, y, activation, scale, ray, dim)
        eig = np.asarray(point["eigenvalues"])
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.hist(eig, bins=max(10, dim // 2), color="C0")
        ax.axvline(0, color="k", lw=0.8)
        ax.set(xlabel="eigenvalue of $H_d$", ylabel="count",
               title=f"radius {point['radius']:.2f}: {point['frac_pos']:.0%} positive, "
                     f"Tr/||H||/sqrt(d) = {point['gamma']:.2f}")
        plt.show()

    return widgets.interactive(
        show,
        scale=widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.1, description="init scale"),
        dim=widgets.IntSlider(value=p.subspace_dim, min=2, max=100, description="dimension d"),
        activation=widgets.Dropdown(options=["relu", "tanh"], value=p.activations[0], description="activation"),
        ray=widgets.IntSlider(value=0, min=0, max=50, description="ray (seed)"),
    )
