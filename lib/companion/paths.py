"""Where the project's files are: the notebooks (their presets and committed records beside them), the
committed models and the multi-seed verdicts.

One root holds them, found in this order:

1. ``$COMPANION_ROOT``, when set (a checkout, or a copy of its ``notebooks/``, ``data/models/`` and ``verdicts/``);
2. the checkout the package runs from (an editable install, or ``lib/`` on the path);
3. ``<prefix>/share/companion``, where ``pip install .`` puts a copy of them.

The dataset manifest is not among them: it ships inside the package (``companion/data``).
"""

import os
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]  # lib/companion/paths.py -> the checkout, in one
INSTALLED = Path(sys.prefix) / "share" / "companion"


def root():
    """The folder holding ``notebooks/`` and ``data/models/``; FileNotFoundError says where it looked."""
    env = os.environ.get("COMPANION_ROOT")
    if env:
        if not (Path(env) / "notebooks").is_dir():
            raise FileNotFoundError(f"COMPANION_ROOT={env} has no notebooks/ folder; point it at a checkout "
                                    "of the companion or unset it")
        return Path(env).resolve()
    for candidate in (CHECKOUT, INSTALLED):
        if (candidate / "notebooks").is_dir():
            return candidate
    raise FileNotFoundError(f"no notebooks/ folder in the checkout ({CHECKOUT}) or the installed copy "
                            f"({INSTALLED}); set COMPANION_ROOT to a checkout of the companion")


def notebooks():
    """The folder of the paper notebooks."""
    return root() / "notebooks"


def models():
    """The folder of the committed models."""
    return root() / "data" / "models"


def records():
    """The folder of the committed notebooks' records (``companion execute`` writes them)."""
    return notebooks() / "records"


def verdicts():
    """The folder of the committed multi-seed verdicts (``companion verify`` writes them)."""
    return root() / "verdicts"
