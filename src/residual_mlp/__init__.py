"""residual_mlp: the seed's residual MLP classifier, with hand-derived gradients and verified training."""
from .model import Activations, Params, backward, forward, init_params, loss_and_grads, predict, predict_proba
from .train import History, TrainState, fit

__version__ = "0.2.0"

# The scikit-learn face pulls in scikit-learn's base classes (about a second): loaded only when asked for.
_LAZY = {"ResidualMLPClassifier": "estimator", "RECIPES": "estimator", "make_pipeline": "pipeline",
         "TableEncoder": "columns", "save_model": "saving", "load_model": "saving",
         "to_onnx": "onnx_export", "save_onnx": "onnx_export"}  # the last two need the optional onnx extra


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Activations", "History", "Params", "RECIPES", "ResidualMLPClassifier", "TableEncoder", "TrainState",
           "backward", "fit", "forward", "init_params", "load_model", "loss_and_grads", "make_pipeline", "predict",
           "predict_proba", "save_model", "save_onnx", "to_onnx"]
