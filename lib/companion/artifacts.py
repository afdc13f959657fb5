"""Models the project trained itself and commits: saved atomically, checked by sha256, loaded as tensors.

Each entry of ``ARTIFACTS`` names a file in the models folder (``paths.models()``), its sha256 and
the function that trains it from scratch (``companion model train NAME`` calls it). A file is a
plain ``state_dict`` serialised in memory, so its bytes do not depend on the file's name, and
it is loaded with ``torch.load(weights_only=True)`` only after its sha256 matches.
"""

import importlib
import io
from dataclasses import dataclass

from . import paths
from .io import sha256, write_bytes_atomic


@dataclass(frozen=True)
class Artifact:
    """A committed model: its file, sha256, trainer (``module:function`` returning the model) and what it is."""

    file: str
    sha256: str
    trainer: str
    about: str

    def train(self):
        """Train it from scratch with its committed settings; returns the model."""
        module, function = self.trainer.split(":")
        return getattr(importlib.import_module(module), function)()


ARTIFACTS = {
    "xray_cavities_unet": Artifact(
        "xray_cavities_unet.pt", "f321a5666ace8839bf876e4a8c11d313e5464d9d7519c4a04ede1eece5657be7",
        "companion.experiments.xray_cavities.model:train_committed",
        "notebook 02: cavity segmenter (U-Net) and radius decoder, about 22 minutes on one core"),
    "neural_resampler_1q": Artifact(
        "neural_resampler_1q.pt", "60df8d8a16bd408ed6f294576295a27882583c82997092a3cbcb7382e10192f5",
        "companion.physics.tomography.neural:train_committed_1q",
        "notebook 05: neural resampler for one qubit, under a minute on one core"),
    "neural_resampler_2q": Artifact(
        "neural_resampler_2q.pt", "a865584629b8708bbe3b3a32d4c2291686c1e3b27b2bc94c9cac59d63f69346c",
        "companion.physics.tomography.neural:train_committed_2q",
        "notebook 05: neural resampler for two qubits, about 2 minutes on one core"),
    "recurrent_update_1q": Artifact(
        "recurrent_update_1q.pt", "6c77763adb97943eeff83e325b8984302502209ba7aeb04d5f3fde6637c5b443",
        "companion.physics.tomography.recurrent:train_committed_1q",
        "notebook 05: the journal version's recurrent update for one qubit, about 3 minutes on one core"),
    "recurrent_update_2q": Artifact(
        "recurrent_update_2q.pt", "a51158cef8b7e38305bcf810cc853d7285226cc13e656a54292e706185d7a67a",
        "companion.physics.tomography.recurrent:train_committed_2q",
        "notebook 05: the journal version's recurrent update for two qubits, about 3.5 minutes on one core"),
}


def artifact(name):
    """The entry called ``name``; ValueError names the known ones."""
    if name not in ARTIFACTS:
        raise ValueError(f"no committed model {name!r}; known: {', '.join(ARTIFACTS)}")
    return ARTIFACTS[name]


def state_bytes(model):
    """The model's state_dict (detached CPU tensors) serialised by ``torch.save`` into memory."""
    import torch

    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def state_sha256(model):
    """sha256 of the bytes :func:`save` writes for ``model``."""
    import hashlib

    return hashlib.sha256(state_bytes(model)).hexdigest()


def save(model, path):
    """Write the model's state_dict to ``path`` atomically; return its sha256."""
    return write_bytes_atomic(path, state_bytes(model))


def load_state(name, path=None):
    """The state_dict of committed model ``name`` (from ``path`` when given), after its sha256 is checked."""
    import torch

    entry = artifact(name)
    path = path or paths.models() / entry.file
    how = f"restore it from git or retrain it with `companion model train {name}`"
    if not path.exists():
        raise FileNotFoundError(f"no committed model {entry.file} in {path.parent}; {how}")
    actual = sha256(path)
    if actual != entry.sha256:
        raise ValueError(f"{entry.file} has sha256 {actual}, expected {entry.sha256}: it is not the committed "
                         f"model; {how}")
    return torch.load(path, weights_only=True, map_location="cpu")


def status():
    """One row per committed model: name, file, and whether the file is there with the right sha256."""
    rows = []
    for name, entry in ARTIFACTS.items():
        path = paths.models() / entry.file
        state = "missing" if not path.exists() else ("ok" if sha256(path) == entry.sha256 else "sha256 differs")
        rows.append({"name": name, "file": entry.file, "status": state, "about": entry.about})
    return rows
