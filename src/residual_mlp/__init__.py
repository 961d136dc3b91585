"""residual_mlp: the seed's residual MLP classifier, with hand-derived gradients and verified training."""
from .model import Activations, Params, backward, forward, init_params, loss_and_grads, predict, predict_proba
from .train import History, TrainState, fit

__version__ = "0.1.0"


def __getattr__(name):
    # The estimator pulls in scikit-learn's base classes (about a second): load it only when asked for.
    if name == "ResidualMLPClassifier":
        from .estimator import ResidualMLPClassifier
        return ResidualMLPClassifier
    if name in ("to_onnx", "save_onnx"):  # needs the optional onnx extra
        from . import onnx_export
        return getattr(onnx_export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Activations", "History", "Params", "ResidualMLPClassifier", "TrainState", "backward", "fit",
           "forward", "init_params", "loss_and_grads", "predict", "predict_proba", "save_onnx", "to_onnx"]
