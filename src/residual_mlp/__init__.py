"""residual_mlp: the seed's residual MLP classifier, with hand-derived gradients and verified training."""
from .model import Activations, Params, backward, forward, init_params, loss_and_grads, predict, predict_proba
from .train import History, TrainState, fit

__version__ = "0.1.0"

__all__ = ["Activations", "History", "Params", "TrainState", "backward", "fit", "forward", "init_params",
           "loss_and_grads", "predict", "predict_proba"]
