"""The notebook's explorer: a frame and a SAC radius, with what SAC at that radius costs and buys."""

from ...physics.wfi import analysis as wa
from .compute import accepted, area_lost_at, background_events
from .figures import plot_frame


def explorer(sim, p):
    """Widgets: pick a frame and a SAC radius; see the frame and what SAC at that radius costs and buys."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    bg, _ = background_events(sim, p)
    frames_with_events = sorted(set(accepted(sim["events"], p.mipth).frame))[:200] or [0]

    def show(frame, radius):
        f = area_lost_at(sim, radius, seed=p.seed, n_points=20_000)
        b = wa.flagged(bg.mipdist, radius).mean() if len(bg) else float("nan")
        print(f"r = {radius:g} px: background removed {b:.3f}, area x time lost {f:.3f}, "
              f"background per remaining exposure x{(1 - b) / (1 - f):.2f}")
        plot_frame(sim, p, frame, radius)
        plt.show()

    return widgets.interactive(show, frame=widgets.SelectionSlider(options=frames_with_events),
                               radius=widgets.FloatLogSlider(value=p.sac_radius, base=10, min=0, max=2.5))
