"""Notebook 08's explorer: widgets over the computed spectra, no recomputation."""

import numpy as np

from .figures import density_grid


def explorer(eigs, counts, densities):
    """Widgets over the computed results (no recomputation): the top of the spectrum for each C, and the SLQ
    densities with an adjustable Gaussian broadening."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    _, default = density_grid(densities)

    def show(C, sigma):
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
        for name, marker in (("H", "o"), ("G", "s")):
            t = eigs[(eigs.C == C) & (eigs.matrix == name)]
            axes[0].plot(t["rank"], t.eigenvalue, marker=marker, ls="none", mfc="none" if name == "G" else None,
                         label=name)
        h = counts[(counts.C == C) & (counts.matrix == "H")].iloc[0]
        axes[0].axhline(h.edge, color="C3", ls=":", label=f"bulk edge: {h.outliers} above")
        axes[0].set(yscale="log", xlabel="rank", ylabel="eigenvalue", title=f"C = {C}")
        axes[0].legend(fontsize=8)
        grid, _ = density_grid(densities, sigma)
        for name, d in densities.items():
            axes[1].plot(grid, d.density(grid, sigma).numpy(), label=name)
        axes[1].set(yscale="log", ylim=(1e-5, None), xlabel="eigenvalue", title=f"SLQ density, broadening {sigma:.3g}")
        axes[1].legend(fontsize=8)
        plt.show()

    return widgets.interactive(
        show,
        C=widgets.Dropdown(options=sorted(int(c) for c in eigs.C.unique()), value=int(eigs.C.max()),
                           description="classes C"),
        sigma=widgets.FloatLogSlider(value=default, base=10, min=np.log10(default) - 1.5,
                                     max=np.log10(default) + 1, step=0.1, description="broadening"),
    )
