"""The background working group's Geant4 reference set: its FITS reader and the event-by-event comparison.

The set (MIT Geant4 simulations of the cosmic-ray background, erwocky/geant4-scripts ``test_data``) holds,
per run, the pixel list, the event list made by ``find_events.py``, the blobs and a per-frame table.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from .events import PixelFrames


GEANT4_RUNS = ("all", "202010061731570000", "202010061731570001", "202010061731570002", "202010061731570003")
# Active area of the MIT simulations (find_events.py: actx 59..1143, acty 52..1121), four 512-pixel sensors
GEANT4_QUADRANTS = ((59, 570, 52, 563), (632, 1143, 52, 563), (59, 570, 610, 1121), (632, 1143, 610, 1121))


def _table(path):
    from astropy.io import fits

    with fits.open(path, memmap=False) as hdul:
        return hdul[1].data, dict(hdul[1].header)


def read_geant4(folder, run="all"):
    """The pixel list ``geant_events_<run>_pix.fits`` as :class:`PixelFrames`, checked against its headers.

    ``meta`` keeps the header keys (NFRAMES, NPRI_GEN, NPRI_INT, NBLOBS, TEXPFRAM, SPH_RAD) and the
    number of rows (``n_rows``); frames without any pixel still count in ``n_frames`` (= NFRAMES).
    """
    if run not in GEANT4_RUNS:
        raise ValueError(f"run={run!r} is not in the Geant4 set; allowed: {', '.join(GEANT4_RUNS)}")
    data, header = _table(Path(folder) / f"geant_events_{run}_pix.fits")
    n_frames = int(header["NFRAMES"])
    frames = PixelFrames(np.asarray(data["FRAME"], np.int64), np.asarray(data["ACTX"], np.int64),
                         np.asarray(data["ACTY"], np.int64), np.asarray(data["ENERGY"], float), n_frames,
                         (1122, 1144), GEANT4_QUADRANTS, float(header["TEXPFRAM"]),
                         {k: header[k] for k in ("NFRAMES", "NPRI_GEN", "NPRI_INT", "NBLOBS", "TEXPFRAM", "SPH_RAD")}
                         | {"n_rows": int(header["NAXIS2"]), "run": run})
    return frames


def read_geant4_events(folder, run="all"):
    """The working group's event list ``geant_events_<run>_evt.fits`` with this module's column names."""
    data, _ = _table(Path(folder) / f"geant_events_{run}_evt.fits")
    return pd.DataFrame({"frame": np.asarray(data["FRAME"], np.int64), "x": np.asarray(data["ACTX"], np.int64),
                         "y": np.asarray(data["ACTY"], np.int64), "energy": np.asarray(data["ENERGY"], float),
                         "pattern": np.asarray(data["PATTERN"], np.int64),
                         "vfaint": np.asarray(data["VFAINT"], bool),
                         "blobdist": np.asarray(data["BLOBDIST"], float),
                         "mipdist": np.asarray(data["MIPDIST"], float)})


def read_geant4_frames(folder, run="all"):
    """The per-frame summary ``geant_events_<run>_frames.fits`` (FRAME, NPIX, NBLOB, NEVT, ...) as a DataFrame."""
    data, _ = _table(Path(folder) / f"geant_events_{run}_frames.fits")
    return pd.DataFrame({name.lower(): np.asarray(data[name]).astype(float if name == "TIME" else np.int64)
                         for name in data.names})


def compare_events(ours, reference, rtol=1e-4, dtol=1e-3):
    """Event-by-event comparison on (frame, x, y): one row per event of either list.

    ``found``: in both lists; ``agree``: found with energy within ``rtol`` (relative), the same
    pattern and VFAINT flag and both distances within ``dtol`` pixels.
    """
    keys = ["frame", "x", "y"]
    cols = ["energy", "pattern", "vfaint", "blobdist", "mipdist"]
    m = ours[keys + cols].merge(reference[keys + cols], on=keys, how="outer", suffixes=("", "_ref"), indicator=True)
    m["found"] = m["_merge"] == "both"
    m["agree"] = (m.found & np.isclose(m.energy, m.energy_ref, rtol=rtol, atol=0)
                  & (m.pattern == m.pattern_ref) & (m.vfaint == m.vfaint_ref)
                  & (np.abs(m.blobdist - m.blobdist_ref) <= dtol) & (np.abs(m.mipdist - m.mipdist_ref) <= dtol))
    m["only"] = m["_merge"].map({"both": "", "left_only": "ours", "right_only": "reference"})
    return m.drop(columns="_merge")
