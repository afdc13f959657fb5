"""The Athena WFI Science Products Module (Burrows et al., arXiv:1808.02883), measured on frames (notebook 04).

The paper designs a secondary processor (SPM) that sees every event the on-board event recognition
accepted *and* rejected, and runs two modules on them. The algorithms are not published, so the
stand-ins are labelled (see ``companion.physics.wfi.analysis``):

- event recognition (the background working group's ``find_events.py``, re-implemented and checked
  event by event against its Geant4 event list) on simulated frames (:mod:`.compute`, :mod:`.geant4`);
- Background Analysis Module: VFAINT-style 5x5 flag and self-anti-coincidence (SAC) within r pixels
  of a track, with the background spectrum and map per unit of remaining exposure (:mod:`.compute`);
- Transient Analysis Module: Bayesian blocks on the target's light curve (flares, false alarms,
  latency) and a Poisson excess search per sky cell for serendipitous transients (:mod:`.transients`);
- the per-frame path from the raw frame, timed against the 5 ms frame time (:mod:`.throughput`).
"""

from .claims import CLAIMS, claim_values
from .compute import (accepted, area_lost_at, background_maps, format_summary, recognition_summary, sac_simulated,
                      simulate, spectra, vfaint_table, xray_recovery)
from .explore import explorer
from .figures import plot_flares, plot_frame, plot_geant4, plot_sac, plot_spectra, plot_throughput, plot_transients
from .geant4 import geant4, geant4_background, geant4_summary, sac_geant4
from .params import PARAMETERS, check
from .throughput import speed_table, throughput
from .transients import example_light_curve, flare_study, latency_study, sky_background_rate, transient_study

__all__ = ["CLAIMS", "PARAMETERS", "accepted", "area_lost_at", "background_maps", "check", "claim_values",
           "example_light_curve", "explorer", "flare_study", "format_summary", "geant4", "geant4_background",
           "geant4_summary", "latency_study", "plot_flares", "plot_frame", "plot_geant4", "plot_sac", "plot_spectra",
           "plot_throughput", "plot_transients", "recognition_summary", "sac_geant4", "sac_simulated", "simulate",
           "sky_background_rate", "spectra", "speed_table", "throughput", "transient_study", "vfaint_table",
           "xray_recovery"]
