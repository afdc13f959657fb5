"""The notebook's explorer: one test cluster at any count level, the CNN's map and the beta-fit's, side by side."""

import numpy as np

from ...physics.clusters import simulation
from .compute import at_level, detect, prior

PANELS = ("counts", "cnn", "beta-fit")


def _show(model, p, thresholds, one, cluster, log_counts, threshold):
    """Observe cluster ``one`` at 10^``log_counts`` counts and draw the three panels."""
    import matplotlib.pyplot as plt

    level = 10 ** log_counts
    counts = one.observe(level, p.seed, "explore", cluster)
    q = type(p)(**{**vars(p), "threshold": threshold})
    found, maps, _ = detect(model, counts, one.exposure, q, {**at_level(thresholds, level), "cnn": threshold})
    _, axes = plt.subplots(1, 3, figsize=(10, 3.3))
    images = {"counts": np.log10(counts[0] + 1), "cnn": maps["cnn"][0], "beta-fit": maps["beta-fit"][0]}
    for ax, key in zip(axes, PANELS):
        ax.imshow(images[key], origin="lower", cmap="magma" if key == "counts" else "viridis")
        ax.contour(one.labels[0] > 0, levels=[0.5], colors="cyan", linewidths=0.8, origin="lower")
        if key != "counts":
            ax.contour(found[key][0][0] > 0, levels=[0.5], colors="white", linewidths=0.8, origin="lower")
            radii = ", ".join(f"{r:.1f}" for r in found[key][1].radius)
            ax.set_title(f"{key}: R = {radii or 'none'} px", fontsize=9)
        ax.set(xticks=[], yticks=[])
    true = ", ".join(f"{r:.1f}" for r in one.cavities.radius)
    axes[0].set_title(f"{level:,.0f} counts; true R = {true or 'none'} px", fontsize=9)
    plt.show()


def explorer(model, p, thresholds):
    """Sliders: total counts, a test cluster and the CNN threshold; shows the counts, the CNN's map
    and the beta-fit significance with the truth and the candidates outlined."""
    import ipywidgets as widgets

    sample = simulation.simulate(16, p.seed, "test", prior(p), p.image_size)
    style = {"description_width": "initial"}

    def show(log_counts=3.5, cluster=0, threshold=p.threshold):
        _show(model, p, thresholds, sample.subset([cluster]), cluster, log_counts, threshold)

    return widgets.interactive(
        show,
        log_counts=widgets.FloatSlider(value=3.5, min=2.5, max=5.0, step=0.25, description="log10 counts",
                                       continuous_update=False, style=style),
        cluster=widgets.IntSlider(value=0, min=0, max=15, description="cluster", continuous_update=False),
        threshold=widgets.FloatSlider(value=p.threshold, min=0.05, max=0.95, step=0.05, description="CNN threshold",
                                      continuous_update=False, style=style))
