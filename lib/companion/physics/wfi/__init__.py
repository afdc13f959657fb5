"""The Athena WFI detector toolkit: frame simulator, on-board event recognition, the Geant4 reader, BAM and TAM.

The detector names below are the package's one import for notebooks and tests; the code lives in:

- :mod:`.frame`: the per-frame path of on-board event recognition (:func:`process_frame` from the raw
  frame, :func:`recognise` on one frame's pixel list; the background working group's algorithm);
- :mod:`.reference`: the same algorithm written directly on the full image with ``scipy.ndimage``
  (:func:`dense_events`): slow, the exact answer the per-frame path is checked against;
- :mod:`.events`: pixel-list frames (:class:`PixelFrames`) and the event finder over many frames
  (:func:`find_events`, :func:`recognise` frame by frame);
- :mod:`.geant4`: the Geant4 reference set's reader (:func:`read_geant4`, :func:`read_geant4_events`,
  :func:`read_geant4_frames`) and :func:`compare_events`;
- :mod:`.simulate`: the toy frame simulator (:func:`simulate_frames` with :class:`Detector`, :class:`Sky`,
  :class:`Particles`), :func:`raw_frame` (a frame as the raw image), :func:`label_events` (the truth behind
  each event) and :func:`light_curve`;
- :mod:`.analysis`: the stand-ins for the Science Products Module's Background and Transient Analysis
  Modules (SAC, spectra, Bayesian blocks, the sky search), imported as ``from companion.physics.wfi import analysis``.
"""

from .events import PixelFrames, Recognition, find_events
from .frame import (CLIP, EPICPN_PATTERN, EVTTH, FRAME_TIME, INNER, MIPTH, NPIXTHRESH, OUTER, PHAS_OFFSETS,
                    FrameEvents, Settings, process_frame, quadrant_boxes, recognise)
from .geant4 import GEANT4_QUADRANTS, GEANT4_RUNS, compare_events, read_geant4, read_geant4_events, read_geant4_frames
from .reference import dense_events
from .simulate import (KINDS, Detector, Particles, Sky, cloud_deposits, label_events, light_curve, raw_frame,
                       simulate_frames)

__all__ = ["CLIP", "EPICPN_PATTERN", "EVTTH", "FRAME_TIME", "GEANT4_QUADRANTS", "GEANT4_RUNS", "INNER", "KINDS",
           "MIPTH", "NPIXTHRESH", "OUTER", "PHAS_OFFSETS", "Detector", "FrameEvents", "Particles", "PixelFrames",
           "Recognition", "Settings", "Sky", "cloud_deposits", "compare_events", "dense_events", "find_events",
           "label_events", "light_curve", "process_frame", "quadrant_boxes", "read_geant4", "read_geant4_events",
           "raw_frame", "read_geant4_frames", "recognise", "simulate_frames"]
