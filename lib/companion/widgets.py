"""The ipywidgets explorers at the end of the notebooks: cheap recomputation behind sliders."""

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np


def spectrum_explorer(data, p):
    """Goldilocks: radius (init scale), subspace dimension, activation and seed -> the spectrum of H_d."""
    from .experiments import goldilocks_zone as gz

    X, y = gz.tensors(data, p)

    def show(scale, dim, activation, seed):
        model = gz.make_model(data, p, activation, scale, seed)
        point = gz.curvature_point(model, X, y, dim, p.subspace_kind, seed)
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
        seed=widgets.IntSlider(value=p.seed, min=0, max=50, description="seed"),
    )
