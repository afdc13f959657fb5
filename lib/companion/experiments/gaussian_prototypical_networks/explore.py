"""The ipywidgets explorer of the Gaussian prototypical networks notebook."""

from ...fewshot import downsample, mean_precision
from .compute import centre
from .figures import COLORS


def explorer(trained, split, p):
    """Sliders: a test image and a resolution -> the image as the network sees it and the precision every
    Gaussian model of training run 0 gives it."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    gaussian = {(mode, fraction): m for (mode, fraction, run), m in trained.items() if mode != "vanilla" and run == 0}

    def show(index, size):
        X = split.test.X[index:index + 1]
        X = X if size == p.image_size else downsample(X, size)
        fig, axes = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [1, 2]})
        axes[0].imshow(X[0, 0], cmap="gray_r")
        axes[0].set(title=split.test.class_names[int(split.test.y[index])], xticks=[], yticks=[])
        names = [f"{mode}, {fraction:g}" for mode, fraction in gaussian]
        values = [mean_precision(m, centre(X)).item() for m in gaussian.values()]
        axes[1].barh(names, values, color=[COLORS[mode] for mode, _ in gaussian])
        axes[1].set(xlabel="learned precision s (mode, fraction trained down-sampled)")
        fig.tight_layout()
        plt.show()

    return widgets.interactive(
        show,
        index=widgets.IntSlider(value=0, min=0, max=len(split.test.X) - 1, description="test image"),
        size=widgets.IntSlider(value=p.image_size, min=2, max=p.image_size, description="resolution"),
    )
