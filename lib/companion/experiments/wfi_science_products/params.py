"""The WFI Science Products notebook's parameters, their cross-checks, and the constants of the experiment."""

from ...params import Param, ParameterError

PARAMETERS = (
    Param("n_frames", int, 100, 200_000),
    Param("n_side", int, 64, 2048),
    Param("frame_time", float, 1e-5, 0.1),
    Param("read_noise", float, 0.0, 0.05),
    Param("cloud_um", float, 0.5, 60.0),
    Param("evtth", float, 0.02, 1.0),
    Param("mipth", float, 1.0, 100.0),
    Param("target_rate", float, 0.0, 1000.0),
    Param("diffuse_rate", float, 0.0, 10_000.0),
    Param("tracks_per_frame", float, 0.0, 500.0),
    Param("secondaries_per_track", float, 0.0, 5.0),
    Param("secondary_scale", float, 1.0, 500.0),
    Param("lone_per_frame", float, 0.0, 50.0),
    Param("electron_fraction", float, 0.0, 1.0),
    Param("electron_range", float, 0.0, 20.0),
    Param("sac_radii", float, 0.5, 1000.0, many=True),
    Param("sac_radius", float, 0.5, 1000.0),
    Param("lc_rate", float, 0.01, 1000.0),
    Param("lc_duration", float, 100.0, 1e6),
    Param("lc_bin", float, 0.005, 1000.0),
    Param("flare_length", float, 0.005, 1e5),
    Param("flare_amplitudes", float, 1.0, 100.0, many=True),
    Param("flare_amplitude", float, 1.0, 100.0),
    Param("p0", float, 1e-6, 0.5),
    Param("n_trials", int, 10, 100_000),
    Param("lc_window", float, 1.0, 1e5),
    Param("latency_trials", int, 1, 10_000),
    Param("transient_rates", float, 0.001, 1000.0, many=True),
    Param("transient_rate", float, 0.001, 1000.0),
    Param("transient_length", float, 1.0, 1e5),
    Param("tr_duration", float, 100.0, 1e6),
    Param("tr_window", float, 1.0, 1e5),
    Param("tr_cell", int, 2, 256),
    Param("tr_trials", int, 5, 10_000),
    Param("tr_alpha", float, 1e-6, 0.5),
    Param("throughput_frames", int, 10, 100),
    Param("geant4", bool),
)

EDGE = 2             # px: events this close to a sensor border are not reported
E_TOL = 0.1          # keV: "the right energy" (the most charge a neighbour below the split threshold hides)
BAND = (2.0, 7.0)    # keV: the band of the WFI background requirement
REQUIREMENT = 5e-3   # counts cm^-2 s^-1 keV^-1, 2-7 keV (Eraerds et al. 2021)
ALPHA = 0.05        # level of the exact binomial tests of SAC (C4d, C4e) and of the X-ray loss (C4c)


def check(p):
    """Constraints between parameters, checked before any compute."""
    if p.n_side % 2:
        raise ParameterError(f"parameter 'n_side' = {p.n_side} must be even (2x2 sensors of n_side/2 pixels)")
    if p.flare_amplitude not in p.flare_amplitudes:
        raise ParameterError(f"parameter 'flare_amplitude' = {p.flare_amplitude} must be one of flare_amplitudes "
                             f"{p.flare_amplitudes}")
    if p.sac_radius not in p.sac_radii:
        raise ParameterError(f"parameter 'sac_radius' = {p.sac_radius} must be one of sac_radii {p.sac_radii}")
    if p.transient_rate not in p.transient_rates:
        raise ParameterError(f"parameter 'transient_rate' = {p.transient_rate} must be one of transient_rates "
                             f"{p.transient_rates}")
    if p.lc_duration < p.lc_window + 3 * p.flare_length or p.lc_window < 5 * p.lc_bin:
        raise ParameterError(f"lc_duration = {p.lc_duration} s must hold lc_window + 3 flare lengths "
                             f"({p.lc_window + 3 * p.flare_length} s), and lc_window = {p.lc_window} s at least 5 bins "
                             f"of lc_bin = {p.lc_bin} s")
    if p.flare_length < p.lc_bin:
        raise ParameterError(f"flare_length = {p.flare_length} s is shorter than one bin (lc_bin = {p.lc_bin} s)")
    if p.tr_duration < 6 * p.tr_window + p.transient_length:
        raise ParameterError(f"tr_duration = {p.tr_duration} s must hold 5 training windows, the transient "
                             f"({p.transient_length} s) and one more window; allowed: >= "
                             f"{6 * p.tr_window + p.transient_length}")
    if p.n_side % p.tr_cell:
        raise ParameterError(f"tr_cell = {p.tr_cell} must divide n_side = {p.n_side}")
