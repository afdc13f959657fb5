"""The explorer of notebook 05: one true state tracked by every filter, fixed and adaptive, recomputed live."""

import pandas as pd

from ...physics.tomography import quantum as Q
from ...physics.tomography import runs
from ...physics.tomography.measurement import Scheme
from .compute import methods_of, track, truths
from .figures import STYLE
from .params import n_states_of


def explorer(p, models):
    """Widgets: track one true state with every filter and plot its infidelity against n (recomputed)."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def show(qubits=p.qubits[0], povm="pauli", state=0, n_max=10**4, particles=300):
        truth = truths(p, qubits)[state % n_states_of(p, qubits)][None]
        ns = runs.geometric_schedule(p.n_min, n_max)[0]
        _, ax = plt.subplots(figsize=(5, 3.4))
        for method in methods_of(models, qubits):
            for adaptive in (False, True):
                scheme = Scheme(povm, qubits, adaptive, p.adaptive_fraction)
                t = pd.DataFrame(track(p, qubits, truth, scheme, method, models, ns, particles))
                color, ls = STYLE[(method, adaptive)]
                ax.plot(t.n, t.infidelity, color=color, ls=ls, marker=".",
                        label=f"{method}, {'adaptive' if adaptive else 'fixed'}")
        ax.set(xscale="log", yscale="log", xlabel="copies n", ylabel="infidelity")
        ax.legend(fontsize=7)
        plt.show()

    return widgets.interactive(show, qubits=widgets.Dropdown(options=list(models)),
                               povm=widgets.Dropdown(options=list(Q.POVMS)),
                               state=widgets.IntSlider(min=0, max=20, value=0),
                               n_max=widgets.SelectionSlider(options=[10**3, 10**4, 10**5], value=10**4),
                               particles=widgets.IntSlider(min=100, max=1000, step=100, value=300))
