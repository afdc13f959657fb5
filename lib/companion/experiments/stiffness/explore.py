"""The ipywidgets explorer of the stiffness notebook."""

import numpy as np

from ...landscape import stiffness as st
from .figures import class_order
from .params import CLAIM_PAIRS, PAIRS


def explorer(measured, p, groups=None):
    """ipywidgets: a checkpoint of the reference run (seed 0), the stiffness kind and the pair set -> its class matrix."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    steps = sorted({k[2] for k in measured.matrices})

    def show(step_index, kind, pairs):
        step = steps[step_index]
        C = measured.matrices[(p.lr, 0, step, pairs, kind)]
        order = class_order(groups, len(C))
        fig, ax = plt.subplots(figsize=(4.5, 4))
        im = ax.imshow(C[np.ix_(order, order)], cmap="RdBu_r", vmin=-1, vmax=1)
        within, between = st.within_between(C)
        ax.set_title(f"step {step}: within {within:.2f}, between {between:.2f}", fontsize=10)
        ax.grid(False)
        fig.colorbar(im, ax=ax)
        plt.show()

    return widgets.interactive(
        show,
        step_index=widgets.IntSlider(value=len(steps) - 1, min=0, max=len(steps) - 1, description="checkpoint"),
        kind=widgets.Dropdown(options=list(st.KINDS), value="cos", description="stiffness"),
        pairs=widgets.Dropdown(options=list(PAIRS), value=CLAIM_PAIRS, description="pairs"),
    )
