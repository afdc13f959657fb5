"""Models and the training loop that records trajectories."""

from .flat import flat_params, unflatten
from .hyperplane import HyperplaneModel
from .models import ACTIVATIONS, INITS, cnn, mlp
from .modes import in_mode
from .train import OPTIMIZERS, Trajectory, evaluate, train

__all__ = ["ACTIVATIONS", "INITS", "OPTIMIZERS", "HyperplaneModel", "Trajectory", "cnn", "evaluate",
           "flat_params", "in_mode", "mlp", "train", "unflatten"]
