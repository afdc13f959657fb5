"""The Athena WFI detector toolkit: frame simulator, on-board event recognition and the Geant4 reader.

One import for the notebook and the tests; the code lives in two modules:

- :mod:`companion.physics.wfi_events`: pixel-list frames (:class:`PixelFrames`), the event finder
  (:func:`find_events`, the background working group's algorithm), the Geant4 reader
  (:func:`read_geant4`, :func:`read_geant4_events`) and :func:`compare_events`;
- :mod:`companion.physics.wfi_simulate`: the toy frame simulator (:func:`simulate_frames` with
  :class:`Detector`, :class:`Sky`, :class:`Particles`), :func:`label_events` (the truth behind each
  event) and :func:`light_curve` for long observations.
"""

from .wfi_events import (CLIP, EPICPN_PATTERN, EVTTH, FRAME_TIME, GEANT4_QUADRANTS, GEANT4_RUNS, INNER, MIPTH,
                         NPIXTHRESH, OUTER, PHAS_OFFSETS, PixelFrames, Recognition, compare_events, find_events,
                         from_dense, quadrant_boxes, read_geant4, read_geant4_events, read_geant4_frames)
from .wfi_simulate import KINDS, Detector, Particles, Sky, cloud_deposits, label_events, light_curve, simulate_frames

__all__ = ["CLIP", "EPICPN_PATTERN", "EVTTH", "FRAME_TIME", "GEANT4_QUADRANTS", "GEANT4_RUNS", "INNER", "KINDS",
           "MIPTH", "NPIXTHRESH", "OUTER", "PHAS_OFFSETS", "Detector", "Particles", "PixelFrames", "Recognition",
           "Sky", "cloud_deposits", "compare_events", "find_events", "from_dense", "label_events", "light_curve",
           "quadrant_boxes", "read_geant4", "read_geant4_events", "read_geant4_frames", "simulate_frames"]
