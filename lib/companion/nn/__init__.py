"""Models and the training loop that records trajectories."""

from .flat import flat_params, n_parameters, unflatten
from .hyperplane import HyperplaneModel
from .models import ACTIVATIONS, INITS, cnn, mlp
from .modes import in_mode
from .threads import threads
from .train import OPTIMIZERS, STOP, Trajectory, cosine, evaluate, halving, optimise, train

__all__ = ["ACTIVATIONS", "INITS", "OPTIMIZERS", "STOP", "HyperplaneModel", "Trajectory", "cnn", "cosine", "evaluate",
           "flat_params", "halving", "in_mode", "mlp", "n_parameters", "optimise", "threads", "train", "unflatten"]
