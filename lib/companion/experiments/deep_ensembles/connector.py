"""C7: a low-loss connector between two modes (``companion.landscape.connectors``), and whether it leaves the mode.

The bend's training draws from the stream ``("connector",)`` derived from ``p.seed``.
"""

import numpy as np
import pandas as pd
import torch.nn.functional as F

from ... import rng
from ...landscape import connectors
from ...landscape import function_space as fs


def _path_rows(kind, connector, model, data, ts):
    """Train and test loss, test accuracy and test disagreement with each end at each t of one path."""
    thetas = connector.points(ts).cpu()
    train = fs.predict_many(model, thetas, data.X_train, output="logits")
    test = fs.predict_many(model, thetas, data.X_test, output="logits")
    ends = test[[0, -1]].argmax(-1)
    return [{"kind": kind, "t": t,
             "train_loss": F.cross_entropy(train[j], data.y_train).item(),
             "test_loss": F.cross_entropy(test[j], data.y_test).item(),
             "test_acc": (test[j].argmax(1) == data.y_test).double().mean().item(),
             "dis_a": (test[j].argmax(1) != ends[0]).double().mean().item(),
             "dis_b": (test[j].argmax(1) != ends[1]).double().mean().item()} for j, t in enumerate(ts)]


def connector_study(runs, model, data, p):
    """Train one bend between runs 0 and 1 and evaluate the trained path and the straight line.

    Returns (path, history): path has one row per (kind, t) with train and test loss, test accuracy and
    test disagreement with each end; history the per-step training loss of the bend.
    """
    a, b = runs[0].theta.to(p.device), runs[1].theta.to(p.device)
    conn = connectors.connect_pair(a, b, n_bends=1).to(p.device)
    line = connectors.connect_pair(a, b, n_bends=1).to(p.device)
    history = connectors.train_connector(model, conn, data.X_train.to(p.device), data.y_train.to(p.device),
                                         steps=p.connector_steps, lr=p.connector_lr, batch_size=p.batch_size,
                                         seed=rng.derive(p.seed, "connector"))
    ts = np.linspace(0, 1, p.connector_points)
    rows = _path_rows("straight line", line, model, data, ts) + _path_rows("connector", conn, model, data, ts)
    return pd.DataFrame(rows), history


def barrier(path, column="train_loss"):
    """Highest value of ``column`` along a path above the mean of its two ends."""
    return path[column].max() - (path[column].iloc[0] + path[column].iloc[-1]) / 2
