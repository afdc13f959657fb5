"""The Athena WFI detector toolkit: frame simulator, on-board event recognition, the Geant4 reader, BAM and TAM.

The detector names below are the package's one import for notebooks and tests; the code lives in:

- :mod:`.events`: pixel-list frames (:class:`PixelFrames`) and the event finder (:func:`find_events`,
  the background working group's algorithm);
- :mod:`.geant4`: the Geant4 reference set's reader (:func:`read_geant4`, :func:`read_geant4_events`,
  :func:`read_geant4_frames`) and :func:`compare_events`;
- :mod:`.simulate`: the toy frame simulator (:func:`simulate_frames` with :class:`Detector`, :class:`Sky`,
  :class:`Particles`), :func:`label_events` (the truth behind each event) and :func:`light_curve`;
- :mod:`.analysis`: the stand-ins for the Science Products Module's Background and Transient Analysis
  Modules (SAC, spectra, Bayesian blocks, the sky search), imported as ``from companion.physics.wfi import analysis``.
"""

from .events import (CLIP, EPICPN_PATTERN, EVTTH, FRAME_TIME, INNER, MIPTH, NPIXTHRESH, OUTER, PHAS_OFFSETS,
                     PixelFrames, Recognition, find_events, from_dense, quadrant_boxes)
from .geant4 import GEANT4_QUADRANTS, GEANT4_RUNS, compare_events, read_geant4, read_geant4_events, read_geant4_frames
from .simulate import KINDS, Detector, Particles, Sky, cloud_deposits, label_events, light_curve, simulate_frames

__all__ = ["CLIP", "EPICPN_PATTERN", "EVTTH", "FRAME_TIME", "GEANT4_QUADRANTS", "GEANT4_RUNS", "INNER", "KINDS",
           "MIPTH", "NPIXTHRESH", "OUTER", "PHAS_OFFSETS", "Detector", "Particles", "PixelFrames", "Recognition",
           "Sky", "cloud_deposits", "compare_events", "find_events", "from_dense", "label_events", "light_curve",
           "quadrant_boxes", "read_geant4", "read_geant4_events", "read_geant4_frames", "simulate_frames"]
