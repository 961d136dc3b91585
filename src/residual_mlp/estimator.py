"""The scikit-learn face of the network: `ResidualMLPClassifier`. No maths lives here.

Every number comes from `model` (init_params, forward, predict, predict_proba) and `train.fit`; this
module only validates input, maps labels to class indices and back, and keeps the fitted state.
"""
from __future__ import annotations

import math
import sys
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import labels, model, train
from .errors import Diverged
from .optim import OPTIMIZERS

_FLOATS = (np.float64, np.float32)

# The training recipes: the values that the parameters left at None (batch_size at "auto") take.
# "default" is the recommended recipe; "seed" is the seed derivation's own method: full-batch
# gradient descent W <- W - lr dL/dW at a constant rate for a fixed number of epochs.
RECIPES = {
    "default": {"optimizer": "adam", "lr": 3e-3, "max_iter": 30, "batch_size": 64, "weight_decay": 1e-3,
                "lr_schedule": "cosine"},
    "seed": {"optimizer": "gd", "lr": 0.1, "max_iter": 500, "batch_size": None, "weight_decay": 0.0,
             "lr_schedule": "constant"},
}


class ResidualMLPClassifier(ClassifierMixin, BaseEstimator):
    """The seed's residual MLP classifier (two skip connections, pre-activation, softmax output).

    The network is ``x -> z = ReLU(x) -> s = W1 z + x -> t = W2 s -> r = W3 ReLU(t) + t ->
    theta = W4 r -> softmax``, trained on the mean cross-entropy by `residual_mlp.fit`. It has no
    biases and no input scaling of its own: give it standardized numbers, for example through
    ``residual_mlp.make_pipeline()`` (which also encodes raw table columns) or
    ``sklearn.pipeline.make_pipeline(StandardScaler(), ResidualMLPClassifier())``.

    Parameters
    ----------
    n_hidden : int, default=128
        Hidden width M (the rows of W2 and W3).
    recipe : {"default", "seed"}, default="default"
        Where the training parameters left at None (`batch_size` at "auto") take their values:

        ========== ========= ======== ========== ============ ============== ===========
        recipe     optimizer lr       max_iter   batch_size   weight_decay   lr_schedule
        ========== ========= ======== ========== ============ ============== ===========
        "default"  "adam"    3e-3     30         64           1e-3           "cosine"
        "seed"     "gd"      0.1      500        None (full)  0              "constant"
        ========== ========= ======== ========== ============ ============== ===========

        "seed" is the seed derivation's exact training: full-batch gradient descent
        ``W <- W - lr dL/dW`` for a fixed number of epochs. A parameter given explicitly wins.
    optimizer : {"adam", "gd", "momentum", "nesterov", "lbfgs"} or None, default=None
        Update rule; "gd" is the seed's gradient descent (see `residual_mlp.fit`). "lbfgs" is full
        batch (`batch_size` is ignored), converges when the largest gradient entry falls to `tol`,
        and has no `partial_fit`. None: the recipe's.
    lr : float or None, default=None
        Learning rate (the initial one when `lr_schedule` changes it). None: the recipe's.
    max_iter : int or None, default=None
        Maximum number of epochs of one `fit` call. None: the recipe's.
    batch_size : int, None or "auto", default="auto"
        Mini-batch size (at most the number of training rows, so small data sets train full batch);
        None trains full batch. "auto": the recipe's. Ignored by "lbfgs".
    momentum : float, default=0.9
        Momentum of "momentum" and "nesterov", in [0, 1).
    betas : (float, float), default=(0.9, 0.999)
        Adam's decay rates of the first and second moment estimates, each in [0, 1).
    eps : float, default=1e-8
        Adam's term added to the denominator (> 0).
    weight_decay : float or None, default=None
        L2 penalty ``weight_decay / 2 * ||W||^2`` on each weight matrix. None: the recipe's.
    lr_schedule : {"constant", "cosine", "plateau"} or None, default=None
        Learning-rate schedule over the `max_iter` epochs of a `fit` call. `partial_fit` has no
        total number of epochs, so there "cosine" keeps the rate constant. None: the recipe's.
    early_stopping : bool, default=False
        Hold out `validation_fraction` of the training data (stratified) and stop when the validation
        loss has not improved by more than `tol` for `patience` epochs; the weights of the epoch with
        the lowest validation loss are kept. The validation loss and accuracy ignore sample weights.
    validation_fraction : float, default=0.1
        Fraction held out for early stopping; used only when `early_stopping` is True.
    patience : int or None, default=None
        Epochs without improvement (by more than `tol`) of the monitored loss before training stops:
        the validation loss with `early_stopping`, the training loss otherwise (convergence). The
        weights of the best epoch are kept. None: always run `max_iter` epochs (with
        `early_stopping`, None means 10).
    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.
    shuffle : bool, default=True
        Reshuffle the mini-batches every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling and the validation split. An int is used as the
        seed itself, so ``random_state=s`` matches ``residual-mlp train --seed s``.
    warm_start : bool, default=False
        When True, `fit` starts from the weights of the previous fit (with a fresh optimizer state)
        and appends to `loss_curve_`; the classes must be the same.
    verbose : bool, default=False
        Print the loss after every epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (C,)
        The class labels, sorted; class index k of the network is ``classes_[k]``.
    n_features_in_ : int
        Number of features D.
    feature_names_in_ : ndarray of shape (D,)
        Feature names, when `fit` was given a table with string column names.
    params_ : Params
        The learned weights W1 (D, D), W2 (M, D), W3 (M, M), W4 (C, M), in the dtype of the training
        features (float32 stays float32; anything else is trained in float64).
    loss_curve_ : list of float
        Training loss (mean cross-entropy, without the weight-decay penalty) of every epoch.
    best_loss_ : float or None
        Lowest value of `loss_curve_`; None with early stopping.
    validation_scores_ : list of float or None
        Validation accuracy of every epoch with early stopping, else None.
    validation_loss_curve_ : list of float or None
        Validation loss of every epoch with early stopping, else None.
    best_validation_score_ : float or None
        With early stopping, the validation accuracy of the weights kept: those of the epoch of
        lowest validation loss when early stopping ended training, else those of the last epoch.
        None without early stopping.
    n_iter_ : int
        Number of epochs run (summed over warm-started fits and `partial_fit` calls).
    t_ : int
        Number of training samples seen by the optimizer.
    stop_reason_ : str
        Why the latest `fit` ended: "max_epochs", "early_stopping" (with `early_stopping`, or the
        training loss converged without it), "interrupted" or "stopped"; with "lbfgs" also
        "converged" and "stalled" (see `residual_mlp.fit`).

    Notes
    -----
    Labels. ``classes_`` holds the labels as `fit` saw them; a model trained by ``residual-mlp
    train`` from a CSV file holds each label as its text exactly as written (``"01234"`` and
    ``"1234"`` are two classes), and its predictions are those texts (Python ``str``). `fit` with
    `warm_start`, `partial_fit` and `score` on such a model accept the labels as those texts, or
    as numbers: a number stands for the one class whose text reads as that number
    (``float(text) == number``); a number that matches no class, or several, is an error.

    The network has no biases, so its logits are positively homogeneous: ``theta(a x) = a theta(x)``
    for ``a > 0``, and the predicted class depends only on the direction of x (from the origin, the
    feature means after standardization).
    """

    _parameter_constraints: dict = {
        "n_hidden": [Interval(Integral, 1, None, closed="left")],
        "recipe": [StrOptions(set(RECIPES))],
        "optimizer": [StrOptions(set(OPTIMIZERS)), None],
        "lr": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "betas": [tuple, list],
        "eps": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left"), None],
        "lr_schedule": [StrOptions(set(train.SCHEDULES)), None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_hidden=128, *, recipe="default", optimizer=None, lr=None, max_iter=None,
                 batch_size="auto", momentum=0.9, betas=(0.9, 0.999), eps=1e-8, weight_decay=None,
                 lr_schedule=None, early_stopping=False, validation_fraction=0.1, patience=None, tol=1e-4,
                 shuffle=True, random_state=None, warm_start=False, verbose=False):
        self.n_hidden = n_hidden
        self.recipe = recipe
        self.optimizer = optimizer
        self.lr = lr
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.momentum = momentum
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose

    def training_options(self):
        """The effective training parameters: each one given explicitly, else the recipe's.

        Returns
        -------
        dict
            optimizer, lr, max_iter, batch_size, weight_decay, lr_schedule.
        """
        recipe = RECIPES[self.recipe] if self.recipe in RECIPES else RECIPES["default"]
        options = {}
        for key, value in recipe.items():
            given = getattr(self, key)
            default = given == "auto" if key == "batch_size" else given is None  # batch_size None: full batch
            options[key] = value if default else given
        return options

    # ------------------------------------------------------------------ training

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, callback=None, resume=None, record_flow=False, progress=False):
        """Train on (X, y) for up to `max_iter` epochs.

        Parameters
        ----------
        X : array-like of shape (N, D)
            Training features (numbers; see `residual_mlp.make_pipeline` for raw tables).
        y : array-like of shape (N,)
            Class labels of any kind (strings, integers, ...); at least two distinct ones.
        sample_weight : array-like of shape (N,), default=None
            Non-negative weights: the loss is ``sum_i w_i J_i / sum_i w_i`` (with mini-batches, each
            step's loss is that weighted mean over its batch). A row of weight 0 is left out; with
            full batches, weight 2 on a row equals giving the row twice.
        callback : callable(TrainState) or None, default=None
            Called after every epoch (see `residual_mlp.fit`); returning True ends training there.
        resume : TrainState or None, default=None
            Continue the run a checkpoint saved (`residual_mlp.checkpoint`) on the same data.
        record_flow : bool, default=False
            Record the two paths of each skip connection every epoch (in ``history_.flow``).
        progress : bool, default=False
            Show a progress bar.

        Returns
        -------
        self : ResidualMLPClassifier
            With ``history_``, the `residual_mlp.History` of this call (not saved in model files).

        Raises
        ------
        ValueError
            Bad parameters (scikit-learn's InvalidParameterError), bad input, labels outside the
            classes of a warm start.
        residual_mlp.errors.Diverged
            Training diverged: the loss became non-finite or rose above 10 times the first epoch's
            (see `residual_mlp.fit`); the estimator keeps the state it had before this call.
        """
        self._check_betas()
        options = self.training_options()
        warm = self.warm_start and hasattr(self, "params_")
        X, y = validate_data(self, X, y, dtype=_FLOATS, reset=not warm, y_numeric=False, multi_output=False)
        if warm:
            index = labels.class_index(self.classes_, y)
            classes = self.classes_
        else:
            check_classification_targets(y)
            classes, index = np.unique(y, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(f"a classifier needs two or more classes, but y has one class: "
                                 f"{classes.tolist()}")
        X, index, sample_weight = _drop_zero_weights(X, index, sample_weight)
        seed = self._seed()
        if resume is not None:
            params = resume.params
        elif warm:
            params = self.params_
        else:
            params = model.init_params(X.shape[1], self.n_hidden, len(classes), seed=seed, dtype=X.dtype)
        validation_fraction = self.validation_fraction if self.early_stopping else None
        patience = self.patience if self.patience is not None or not self.early_stopping else 10

        params, history, state = train.fit(
            params, X, index, **self._fit_options(options), epochs=options["max_iter"],
            validation_fraction=validation_fraction, patience=patience, seed=seed,
            sample_weight=sample_weight, callback=self._callback(callback), resume=resume,
            record_flow=record_flow, progress=progress, return_state=True)

        if history.stop_reason in train.DIVERGED:  # as MLPClassifier does for non-finite weights
            raise Diverged(f"ResidualMLPClassifier: {history.message}")
        if not warm:  # a new model: forget everything of the previous one
            self.classes_ = classes
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_ = self.validation_loss_curve_ = None
        self._record(params, history, state, _n_train_rows(X.shape[0], validation_fraction))
        if self.early_stopping:
            self.validation_scores_ = (self.validation_scores_ or []) + list(history.val_accuracy)
            self.validation_loss_curve_ = (self.validation_loss_curve_ or []) + list(history.val_loss)
            # the epoch whose weights are kept: the best one when early stopping restored it
            kept = history.best_epoch if history.stop_reason == "early_stopping" else len(history.val_loss) - 1
            self.best_validation_score_ = float(history.val_accuracy[kept]) if history.val_accuracy else None
            self.best_loss_ = None
        else:
            self.validation_scores_ = self.validation_loss_curve_ = self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        self.history_ = history
        self._warn(history, options, patience)
        return self

    def _has_partial_fit(self):
        return self.training_options()["optimizer"] != "lbfgs"

    @available_if(_has_partial_fit)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on (X, y), continuing the weights and the optimizer state.

        Early stopping and the convergence test do not apply here; the caller decides when to stop.
        Not available with optimizer "lbfgs".

        Parameters
        ----------
        X : array-like of shape (N, D)
            Training features.
        y : array-like of shape (N,)
            Class labels, all among `classes`.
        classes : array-like of shape (C,), default=None
            Every class that any call will show; required on the first call, optional later
            (then it must equal `classes_`).
        sample_weight : array-like of shape (N,), default=None
            Non-negative weights, as in `fit`.

        Returns
        -------
        self : ResidualMLPClassifier
        """
        self._check_betas()
        options = self.training_options()
        first = not hasattr(self, "params_")
        if first and classes is None:
            raise ValueError("classes must be given on the first call to partial_fit")
        X, y = validate_data(self, X, y, dtype=_FLOATS, reset=first, y_numeric=False, multi_output=False)
        if classes is not None:
            classes = np.unique(np.asarray(classes))
            if first and len(classes) < 2:
                raise ValueError(f"a classifier needs two or more classes, but classes has one class: "
                                 f"{classes.tolist()}")
            if not first and not np.array_equal(classes, self.classes_):
                raise ValueError(f"classes {classes.tolist()} differ from those of the first call "
                                 f"{self.classes_.tolist()}")
        else:
            classes = self.classes_
        index = labels.class_index(classes, y)
        X, index, sample_weight = _drop_zero_weights(X, index, sample_weight)
        fit_options = dict(self._fit_options(options, partial=True), sample_weight=sample_weight,
                           callback=self._callback(None), return_state=True)

        seed = self._seed()
        if first:
            params = model.init_params(X.shape[1], self.n_hidden, len(classes), seed=seed, dtype=X.dtype)
        else:
            params = self.params_
        state = None if first else getattr(self, "_train_state", None)
        if state is None or self._state_optimizer != options["optimizer"]:
            # A fresh run from the current (or new) weights: its epoch 0.
            params, history, state = train.fit(params, X, index, epochs=1, seed=seed, **fit_options)
        else:
            # The saved run, one epoch further; a fresh History keeps the validation record of a
            # previous fit out of the monitored loss (partial_fit has no validation set).
            state = train.TrainState(params=params, opt_state=state.opt_state, epoch=state.epoch,
                                     seed=state.seed, history=train.History(), lr_scale=state.lr_scale,
                                     monitor_best=state.monitor_best, plateau_bad=state.plateau_bad)
            params, history, state = train.fit(params, X, index, epochs=state.epoch + 1, resume=state,
                                               **fit_options)

        if first:
            self.classes_ = classes
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_ = self.validation_loss_curve_ = self.best_validation_score_ = None
        self._record(params, history, state, X.shape[0])
        if self.validation_scores_ is None:
            self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        if history.stop_reason in ("non_finite", "diverged", "interrupted"):
            self._warn(history, options, None)
        return self

    # ---------------------------------------------------------------- prediction

    def decision_function(self, X):
        """The logits theta.

        Parameters
        ----------
        X : array-like of shape (N, D)

        Returns
        -------
        ndarray of shape (N, C), or (N,) with two classes
            The logits theta (N, C); with two classes, scikit-learn's convention: the log-odds
            ``theta[:, 1] - theta[:, 0]`` of ``classes_[1]``, positive where it is predicted.
        """
        theta = self._forward(X).theta  # (N, C)
        if theta.shape[1] == 2:
            return theta[:, 1] - theta[:, 0]
        return theta

    def predict(self, X):
        """Predicted labels (the argmax of theta), as elements of `classes_`.

        Parameters
        ----------
        X : array-like of shape (N, D)

        Returns
        -------
        ndarray of shape (N,)
            Of the type of `classes_` (see Notes of the class for labels read from a CSV file).
        """
        X = self._checked_input(X)
        return self.classes_[model.predict(self.params_, X)]

    def predict_proba(self, X):
        """Class probabilities y_hat = softmax(theta).

        Parameters
        ----------
        X : array-like of shape (N, D)

        Returns
        -------
        ndarray of shape (N, C)
            Column k is the probability of ``classes_[k]``.
        """
        X = self._checked_input(X)
        return model.predict_proba(self.params_, X)

    def predict_log_proba(self, X):
        """Log class probabilities, from the log-softmax of theta: finite for any finite logits.

        Parameters
        ----------
        X : array-like of shape (N, D)

        Returns
        -------
        ndarray of shape (N, C)
        """
        return self._forward(X).log_y_hat

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on (X, y); labels as in `fit` (texts, or numbers by the rule in Notes).

        Parameters
        ----------
        X : array-like of shape (N, D)
        y : array-like of shape (N,)
        sample_weight : array-like of shape (N,), default=None

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score

        check_is_fitted(self, "params_")
        y = labels.as_classes(self.classes_, y)
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    # -------------------------------------------------------------- model files

    def save(self, path):
        """Write this estimator as a model file (see `residual_mlp.save_model`)."""
        from .saving import save_model
        save_model(self, path)

    @classmethod
    def load(cls, path):
        """The fitted estimator in a model file written by `save` (or by `residual_mlp.save_model`).

        A model file of ``residual-mlp train`` holds a whole pipeline (column encoding, then this
        estimator): read it with `residual_mlp.load_model`. Raises `residual_mlp.errors.InputError`
        (a ValueError) naming the file when it holds something else or is damaged.
        """
        from .errors import InputError
        from .saving import load_model

        loaded = load_model(path)
        if not isinstance(loaded, cls):
            raise InputError(f"{path}: holds a {type(loaded).__name__} (the whole pipeline), not a bare "
                             f"{cls.__name__}; read it with residual_mlp.load_model")
        return loaded

    # ------------------------------------------------------------------ helpers

    def _check_betas(self):
        betas = self.betas
        if len(betas) != 2 or not all(isinstance(b, Real) and 0 <= b < 1 for b in betas):
            raise ValueError(f"The 'betas' parameter of {type(self).__name__} must be two numbers in [0, 1), "
                             f"got {betas!r}.")

    def _fit_options(self, options, partial=False):
        """The options of train.fit that come straight from the parameters."""
        schedule = options["lr_schedule"]
        if partial and schedule == "cosine":
            schedule = "constant"
        batch_size = None if options["optimizer"] == "lbfgs" else options["batch_size"]
        return dict(lr=options["lr"], batch_size=batch_size, optimizer=options["optimizer"],
                    momentum=self.momentum, betas=tuple(self.betas), eps=self.eps,
                    weight_decay=options["weight_decay"], lr_schedule=schedule, tol=self.tol,
                    shuffle=self.shuffle)

    def _seed(self):
        """An int seed for init_params and fit: random_state itself when it is an int."""
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _record(self, params, history, state, n_train):
        """Keep what a finished fit or partial_fit produced."""
        self.params_ = params
        self.loss_curve_ += list(history.loss)
        self.n_iter_ += len(history.loss)
        self.t_ += len(history.loss) * n_train
        self.stop_reason_ = history.stop_reason
        self._train_state, self._state_optimizer = state, self.training_options()["optimizer"]

    def _warn(self, history, options, patience):
        if history.stop_reason == "max_epochs" and options["optimizer"] == "lbfgs":
            warnings.warn(f"ResidualMLPClassifier: L-BFGS-B did not converge (largest gradient entry "
                          f"above tol={self.tol:g}) in max_iter={options['max_iter']} iterations; increase "
                          f"max_iter", ConvergenceWarning, stacklevel=3)
        elif history.stop_reason == "max_epochs" and patience is not None:
            what = "validation loss" if self.early_stopping else "training loss"
            warnings.warn(f"ResidualMLPClassifier: max_iter={options['max_iter']} epochs ended training before "
                          f"the {what} stopped improving by more than tol={self.tol:g} for patience="
                          f"{patience} epochs; increase max_iter", ConvergenceWarning, stacklevel=3)
        elif history.stop_reason in ("non_finite", "diverged", "interrupted", "stalled"):
            warnings.warn(f"ResidualMLPClassifier: {history.message}", ConvergenceWarning, stacklevel=3)

    def _callback(self, callback):
        """fit's callback: the caller's, after the verbose report."""
        if not self.verbose:
            return callback

        def report_then_call(state):
            self._report(state)
            return None if callback is None else callback(state)
        return report_then_call

    def _report(self, state):
        """fit's callback with verbose=True: one line per epoch."""
        history = state.history
        line = f"epoch {state.epoch}, loss = {history.loss[-1]:.6f}"
        if history.val_loss:
            line += f", validation loss = {history.val_loss[-1]:.6f}, accuracy = {history.val_accuracy[-1]:.4f}"
        print(line, file=sys.stdout, flush=True)

    def _checked_input(self, X):
        check_is_fitted(self, "params_")
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        return np.asarray(X, dtype=self.params_.W1.dtype)

    def _forward(self, X):
        X = self._checked_input(X)
        return model.forward(self.params_, X)

    def __getstate__(self):
        # The weights as a plain tuple of arrays, so that a model file holds no class of this package
        # but the estimator itself; the optimizer state is kept for pickling, dropped by save_model.
        state = dict(super().__getstate__())  # a copy: object.__getstate__ gives the instance's own dict
        if isinstance(state.get("params_"), model.Params):
            state["params_"] = tuple(state["params_"])
        return state

    def __setstate__(self, state):
        if isinstance(state.get("params_"), (tuple, list)):
            state["params_"] = model.Params(*state["params_"])
        super().__setstate__(state)


def _drop_zero_weights(X, index, sample_weight):
    """Rows of weight 0 count for nothing: they are removed, so they take no place in a mini-batch."""
    if sample_weight is None:
        return X, index, None
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (X.shape[0],):
        raise ValueError(f"sample_weight must have shape ({X.shape[0]},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("sample_weight must be finite and non-negative")
    keep = w > 0
    if not keep.any():
        raise ValueError("sample_weight is zero for every row")
    total = w[keep].sum()
    if not math.isfinite(total):
        raise ValueError("sample_weight sums to more than float64 holds; scale the weights down")
    w = w.astype(X.dtype)
    if keep.all():
        return X, index, w
    return X[keep], index[keep], w[keep]


def _n_train_rows(n_rows, validation_fraction):
    """Rows left for training after train.fit holds out validation_fraction (train_test_split's ceil)."""
    if not validation_fraction:
        return n_rows
    return n_rows - math.ceil(validation_fraction * n_rows)
