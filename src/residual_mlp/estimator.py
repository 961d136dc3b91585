"""The scikit-learn face of the network: `ResidualMLPClassifier`. No maths lives here.

Every number comes from `model` (init_params, forward, predict, predict_proba) and `train.fit`; this
module only validates input, maps labels to class indices and back, and keeps the fitted state.
"""
from __future__ import annotations

import math
import re
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import sklearn
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import callbacks, devices, labels, model, sparse, train
from .errors import Diverged, InputError
from .optim import OPTIMIZERS
from .saving import CURVES, plain_data, unpack_floats

_FLOATS = (np.float64, np.float32)
SKLEARN_VERSION = tuple(int(part) for part in re.findall(r"\d+", sklearn.__version__)[:2])

# The training recipes: the values that the parameters left at None (batch_size at "auto") take.
# "default" is the recommended recipe; "seed" is the seed derivation's own method: full-batch
# gradient descent W <- W - lr dL/dW at a constant rate for a fixed number of epochs.
RECIPES = {
    "default": {"optimizer": "adam", "lr": 3e-3, "max_iter": 60, "batch_size": 64, "weight_decay": 2e-3,
                "lr_schedule": "cosine", "input_bias": True},
    "seed": {"optimizer": "gd", "lr": 0.1, "max_iter": 500, "batch_size": None, "weight_decay": 0.0,
             "lr_schedule": "constant", "input_bias": False},
}


class ResidualMLPClassifier(callbacks.CallbackSupportMixin, ClassifierMixin, BaseEstimator):
    """The seed's residual MLP classifier (two skip connections, pre-activation, softmax output).

    The network is ``x -> z = ReLU(x) -> s = W1 z + x -> t = W2 s -> r = W3 ReLU(t) + t ->
    theta = W4 r -> softmax``, trained on the mean cross-entropy by `residual_mlp.fit`. It has no
    biases and no input scaling of its own: give it standardized numbers, for example through
    ``residual_mlp.make_pipeline()`` (which also encodes raw table columns) or
    ``sklearn.pipeline.make_pipeline(StandardScaler(), ResidualMLPClassifier())``.

    X may be a SciPy sparse matrix or array (CSR, CSC, COO, ...: converted once to CSR, float32 kept,
    anything else float64) in `fit`, `partial_fit` and every prediction method; it is never densified
    whole (see `residual_mlp.sparse`): a mini-batch densifies its `batch_size` rows, full batch and
    "lbfgs" sum the loss and gradients over blocks of rows (about 4 MiB dense, or the size of the
    weights when larger; `residual_mlp.sparse.block_rows`), equal to the dense fit
    within float rounding. W1 is still D x D: the memory check refuses a run whose weights do not fit,
    before they are drawn. Not with array API dispatch on, nor as Dask chunks (one-line InputError).

    Parameters
    ----------
    n_hidden : int, default=128
        Hidden width M (the rows of W2 and W3).
    recipe : {"default", "seed"}, default="default"
        Where the training parameters left at None (`batch_size` at "auto") take their values:

        ========== ========= ====== ======== =========== ============ =========== ==========
        recipe     optimizer lr     max_iter batch_size  weight_decay lr_schedule input_bias
        ========== ========= ====== ======== =========== ============ =========== ==========
        "default"  "adam"    3e-3   60       64          2e-3         "cosine"    True
        "seed"     "gd"      0.1    500      None (full) 0            "constant"  False
        ========== ========= ====== ======== =========== ============ =========== ==========

        The default recipe was chosen on 21 real tables (benchmarks/choose_defaults.py, CV seeds held
        apart from those docs/benchmarks.md reports).

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
        Smallest decrease of the monitored loss (or increase of the score) that counts as an improvement.
    scoring : str, default="loss"
        What early stopping watches on the validation set: "loss" (the validation cross-entropy),
        "accuracy", or any scikit-learn scorer name ("balanced_accuracy", "neg_log_loss", "f1_macro",
        ...); the weights of the best epoch are kept. Used only with `early_stopping`.
    input_bias : bool or None, default=None
        None: the recipe's (True for "default", False for "seed"). True: append a constant feature 1
        to every row, after any scaling, so that x carries a 1 and W1..W4
        act as biases through the skip connections; the network and its gradients stay exactly the
        seed's, with D + 1 inputs. `n_features_in_` stays D while `params_[0]` (W1) is (D + 1) x (D + 1):
        to call ``residual_mlp.predict(params_, X)`` yourself, pass ``np.c_[X, np.ones(len(X))]``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplying `sample_weight` in the training loss and weighing the
        validation loss: a dict {label: weight} (others weigh 1), or "balanced": n_samples /
        (n_classes * count of the class), as LogisticRegression defines it. `partial_fit` takes a
        dict only (one batch does not give the class frequencies).
    n_threads : int or None, default=None
        BLAS threads during training. None: one thread for small products, all cores for large ones
        (see `residual_mlp.threads`), unless an ``*_NUM_THREADS`` variable says otherwise.
    shuffle : bool, default=True
        Reshuffle the mini-batches every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling and the validation split. An int is used as the
        seed itself, so ``random_state=s`` matches ``residual-mlp train --seed s``.
    warm_start : bool, default=False
        When True, `fit` starts from the weights of the previous fit (with a fresh optimizer state,
        schedule and shuffling order, which starts again at epoch 0) and appends to `loss_curve_`; the
        classes must be the same. To continue one run exactly, use `partial_fit` or a checkpoint.
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
    params_ : tuple of 4 ndarrays
        The learned weights ``(W1, W2, W3, W4)``: W1 (D, D), W2 (M, D), W3 (M, M), W4 (C, M), in the
        dtype of the training features (float32 stays float32; anything else is trained in float64);
        arrays of X's library and device under array API dispatch. ``residual_mlp.Params(*params_)``
        names them.
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
    input_bias_ : bool
        Whether the network's input carries the constant feature (`input_bias` as resolved at fit).
    stop_reason_ : str
        Why the latest `fit` ended: "max_epochs", "early_stopping" (with `early_stopping`, or the
        training loss converged without it), "interrupted" or "stopped"; with "lbfgs" also
        "converged" and "stalled" (see `residual_mlp.fit`).
    history_ : dict
        The per-epoch record of the latest `fit` or `partial_fit` call (`residual_mlp.History` as a
        dict of lists of floats: "loss", "accuracy", "val_loss", "val_accuracy", "val_score", "lr",
        "grad_norm", "elapsed", "flow", and "stop_reason", "message", "best_epoch").

    Every fitted attribute is an array, a tuple or list of arrays, or a built-in value (the optimizer's
    state too, kept privately for `partial_fit`), so a model file needs no class of this package but the
    estimator itself. Model files leave the optimizer's state out unless asked (`residual_mlp.save_model`).

    Callbacks: with scikit-learn 1.9 or later the estimator takes `sklearn.callback` callbacks
    (``set_callbacks(ProgressBar(), ScoringMonitor(scoring="accuracy"), ...)``): `fit` is a task whose
    subtasks are its epochs; a callback returning True from ``on_fit_task_end`` stops training after that
    epoch (stop_reason_ "stopped"). `residual_mlp.callbacks.GradientFlow` records the two paths of each
    skip connection every epoch. See `residual_mlp.callbacks`.

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
        "scoring": [str],
        "input_bias": ["boolean", None],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(self, n_hidden=128, *, recipe="default", optimizer=None, lr=None, max_iter=None,
                 batch_size="auto", momentum=0.9, betas=(0.9, 0.999), eps=1e-8, weight_decay=None,
                 lr_schedule=None, early_stopping=False, validation_fraction=0.1, patience=None, tol=1e-4,
                 scoring="loss", input_bias=None, class_weight=None, n_threads=None, shuffle=True,
                 random_state=None, warm_start=False, verbose=False):
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
        self.scoring = scoring
        self.input_bias = input_bias
        self.class_weight = class_weight
        self.n_threads = n_threads
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
            recipe_decides = given == "auto" if key == "batch_size" else given is None  # batch_size None: full
            options[key] = value if recipe_decides else given
        return options

    # ------------------------------------------------------------------ training

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, callback=None, resume=None, record_flow=False, progress=False):
        """Train on (X, y) for up to `max_iter` epochs.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (N, D)
            Training features (numbers; see `residual_mlp.make_pipeline` for raw tables). A sparse
            matrix or array of any format is converted once to CSR and densified a block of rows at a
            time (see the class docstring).
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
        residual_mlp.resources.InsufficientMemory
            The run would not fit in memory (for sparse X, checked before the weights are drawn).
        residual_mlp.errors.Diverged
            Training diverged: the loss became non-finite or rose above 10 times the first epoch's
            (see `residual_mlp.fit`); the estimator keeps the state it had before this call.

        Notes
        -----
        Dask input (a dask array, or a dask DataFrame with y a dask Series partitioned like it) trains
        full batch with `residual_mlp.dask_training.fit_dask`, without gathering the data: classes,
        row count and the finiteness check come from one pre-pass (`dask_training.prepass`), early
        stopping holds out a seeded, stratified mask of rows (`Prepass.validation_mask`), and every
        epoch is one tree reduction of the exact per-chunk gradient sums. A mini-batch setting
        (`batch_size`, also the "default" recipe's 64) is ignored with a warning naming it; use
        ``recipe="seed"`` or ``optimizer="lbfgs"``. `record_flow` and `progress` are not available.
        """
        if _is_dask(X):
            return self._fit_dask(X, y, sample_weight, callback=callback, resume=resume, record_flow=record_flow)
        self._check_betas()
        options = self.training_options()
        warm = self.warm_start and hasattr(self, "params_")
        _check_sparse_host(X)
        given = (X, y)  # what the callbacks' hooks receive: the data as the caller gave it
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=_floats(X), reset=not warm, y_numeric=False,
                             multi_output=False)
        y, sample_weight = devices.to_host(y), devices.to_host(sample_weight)  # class labels on the host
        if warm:
            index = labels.class_index(self.classes_, y)
            classes = self.classes_
        else:
            check_classification_targets(y)
            classes, index = np.unique(y, return_inverse=True)
            if len(classes) < 2:
                raise ValueError(f"a classifier needs two or more classes, but y has one class: "
                                 f"{classes.tolist()}")
        bias = self.input_bias_ if warm else options["input_bias"]
        hook_weight = sample_weight  # the callbacks see the weights as given
        X, index, sample_weight = _drop_zero_weights(self._with_bias(X, bias), index, sample_weight)
        seed = self._seed()
        validation_fraction = self.validation_fraction if self.early_stopping else None
        patience = self.patience if self.patience is not None or not self.early_stopping else 10
        if resume is None and not warm and devices.is_host(X):  # refused before W1 (D x D) is drawn
            train.check_memory(X, X.shape[1], self.n_hidden, len(classes), X.dtype,
                               batch_size=self._fit_options(options)["batch_size"], optimizer=options["optimizer"],
                               validation_fraction=validation_fraction, patience=patience, shuffle=self.shuffle)
        if resume is not None:
            params = resume.params
        elif warm:
            params = self._params()
        else:
            params = model.init_params(X.shape[1], self.n_hidden, len(classes), seed=seed, dtype=X.dtype)

        fit_options = dict(self._fit_options(options), class_weight=self._class_weights(classes, index),
                           validation_metric=self._validation_metric(classes) if self.early_stopping else None)
        tasks = self._tasks(*given, hook_weight, options["max_iter"], classes, bias)  # after the input checks
        if tasks is not None:
            tasks.begin(params)
        params, history, state = train.fit(
            params, X, index, **fit_options, epochs=options["max_iter"],
            validation_fraction=validation_fraction, patience=patience, seed=seed,
            sample_weight=sample_weight, callback=self._callback(callback, tasks), resume=resume,
            record_flow=record_flow, progress=progress, return_state=True)

        if history.stop_reason in train.DIVERGED:  # as MLPClassifier does for non-finite weights
            if tasks is not None:
                tasks.abort()
            raise Diverged(f"ResidualMLPClassifier: {history.message}")
        if not warm:  # a new model: forget everything of the previous one
            self.classes_, self.input_bias_ = classes, bias
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_ = self.validation_loss_curve_ = None
        return self._finish_fit(params, history, state, _n_train_rows(X.shape[0], validation_fraction), options,
                                patience, tasks)

    def _finish_fit(self, params, history, state, n_train, options, patience, tasks):
        """Keep what a finished `fit` produced (in memory or on Dask): weights, curves, validation scores."""
        self._record(params, history, state, n_train)
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
        self._warn(history, options, patience)
        if tasks is not None:
            tasks.close(self.params_)
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
        X : array-like or SciPy sparse matrix of shape (N, D)
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
        _check_sparse_host(X)
        given = (X, y)  # what the callbacks' hooks receive: the data as the caller gave it
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=_floats(X), reset=first, y_numeric=False,
                             multi_output=False)
        y, sample_weight = devices.to_host(y), devices.to_host(sample_weight)  # class labels on the host
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
        if isinstance(self.class_weight, str):
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: one batch does not give the "
                             "class frequencies; compute them once with sklearn.utils.class_weight."
                             "compute_class_weight('balanced', classes=classes, y=y) and pass them as a dict")
        bias = options["input_bias"] if first else self.input_bias_
        hook_weight = sample_weight  # the callbacks see the weights as given
        X, index, sample_weight = _drop_zero_weights(self._with_bias(X, bias), index, sample_weight)
        tasks = self._tasks(*given, hook_weight, None, classes, bias)  # after the input checks
        fit_options = dict(self._fit_options(options, partial=True), sample_weight=sample_weight,
                           class_weight=self._class_weights(classes, index),
                           callback=self._callback(None), return_state=True)

        seed = self._seed()
        if first:
            params = model.init_params(X.shape[1], self.n_hidden, len(classes), seed=seed, dtype=X.dtype)
        else:
            params = self._params()
        saved = None if first else getattr(self, "_optimizer_state", None)
        if not first and saved is None:
            warnings.warn("ResidualMLPClassifier: partial_fit has no optimizer state to continue (a model file saved "
                          "without it, see residual_mlp.save_model(optimizer_state=True)): the optimizer starts "
                          "afresh from the current weights", UserWarning, stacklevel=3)
        if saved is None or saved["optimizer"] != options["optimizer"]:
            # A fresh run from the current (or new) weights: its epoch 0.
            params, history, state = train.fit(params, X, index, epochs=1, seed=seed, **fit_options)
        else:
            # The saved run, one epoch further; a fresh History keeps the validation record of a
            # previous fit out of the monitored loss (partial_fit has no validation set).
            state = _train_state(saved, params)
            params, history, state = train.fit(params, X, index, epochs=state.epoch + 1, resume=state,
                                               **fit_options)

        if first:
            self.classes_, self.input_bias_ = classes, bias
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_ = self.validation_loss_curve_ = self.best_validation_score_ = None
        self._record(params, history, state, X.shape[0])
        if self.validation_scores_ is None:
            self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else None
        if history.stop_reason in ("non_finite", "diverged", "interrupted"):
            self._warn(history, options, None)
        if tasks is not None:
            tasks.close(self.params_)
        return self

    # ---------------------------------------------------------------- prediction

    def decision_function(self, X):
        """The logits theta.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (N, D)

        Returns
        -------
        ndarray of shape (N, C), or (N,) with two classes
            The logits theta (N, C); with two classes, scikit-learn's convention: the log-odds
            ``theta[:, 1] - theta[:, 0]`` of ``classes_[1]``, positive where it is predicted.
            A lazy dask array for dask input.
        """
        if _is_dask(X):
            return self._predict_dask(X, "decision_function")
        self._check_namespace(X, "decision_function")
        theta = self._forward(X).theta  # (N, C)
        if theta.shape[1] == 2:
            return theta[:, 1] - theta[:, 0]
        return theta

    def predict(self, X):
        """Predicted labels (the argmax of theta), as elements of `classes_`.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (N, D)

        Returns
        -------
        ndarray of shape (N,)
            Of the type of `classes_` (see Notes of the class for labels read from a CSV file).
            A lazy dask array for dask input.
        """
        if _is_dask(X):
            return self._predict_dask(X, "predict")
        self._check_namespace(X, "predict")
        X = self._checked_input(X)
        if not devices.is_host(X):  # as scikit-learn's classifiers: labels of X's library (text on the host)
            return devices.labels_like(self.classes_, model.predict(self._params(), X))
        if sparse.is_sparse(X):  # by blocks of rows
            return self.classes_[sparse.predict(self._params(), X)]
        return self.classes_[model.predict(self._params(), X)]

    def predict_proba(self, X):
        """Class probabilities y_hat = softmax(theta).

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (N, D)

        Returns
        -------
        ndarray of shape (N, C)
            Column k is the probability of ``classes_[k]``. A lazy dask array for dask input.
        """
        if _is_dask(X):
            return self._predict_dask(X, "predict_proba")
        self._check_namespace(X, "predict_proba")
        X = self._checked_input(X)
        return (sparse.predict_proba if sparse.is_sparse(X) else model.predict_proba)(self._params(), X)

    def predict_log_proba(self, X):
        """Log class probabilities, from the log-softmax of theta: finite for any finite logits.

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (N, D)

        Returns
        -------
        ndarray of shape (N, C)
            A lazy dask array for dask input.
        """
        if _is_dask(X):
            return self._predict_dask(X, "predict_log_proba")
        self._check_namespace(X, "predict_log_proba")
        return self._forward(X).log_y_hat

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on (X, y); labels as in `fit` (texts, or numbers by the rule in Notes).

        Parameters
        ----------
        X : array-like or SciPy sparse matrix of shape (N, D)
        y : array-like of shape (N,)
        sample_weight : array-like of shape (N,), default=None

        Returns
        -------
        float
        """
        from sklearn.metrics import accuracy_score

        check_is_fitted(self, "params_")
        if not (devices.is_host(X) and devices.is_host(self.params_[0])):  # arrays on a device
            y_true = labels.as_classes(self.classes_, devices.to_host(y))
            return float(accuracy_score(y_true, devices.to_host(self.predict(X)),
                                        sample_weight=devices.to_host(sample_weight)))
        y = labels.as_classes(self.classes_, y)
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    # -------------------------------------------------------------- model files

    def save(self, path, *, optimizer_state=False):
        """Write this estimator as a model file (see `residual_mlp.save_model`); `optimizer_state` keeps the
        optimizer's state in it, for `partial_fit` to continue exactly."""
        from .saving import save_model
        save_model(self, path, optimizer_state=optimizer_state)

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
        """The options of train.fit that come straight from the parameters (class weights aside)."""
        schedule = options["lr_schedule"]
        if partial and schedule == "cosine":
            schedule = "constant"
        batch_size = None if options["optimizer"] == "lbfgs" else options["batch_size"]
        return dict(lr=options["lr"], batch_size=batch_size, optimizer=options["optimizer"],
                    momentum=self.momentum, betas=tuple(self.betas), eps=self.eps,
                    weight_decay=options["weight_decay"], lr_schedule=schedule, tol=self.tol,
                    shuffle=self.shuffle, n_threads=self.n_threads)

    def _seed(self):
        """An int seed for init_params and fit: random_state itself when it is an int."""
        if isinstance(self.random_state, (int, np.integer)) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _record(self, params, history, state, n_train):
        """Keep what a finished fit or partial_fit produced, as plain data (arrays and built-in types)."""
        self.params_ = tuple(params)
        self.loss_curve_ += [float(v) for v in history.loss]
        self.n_iter_ += len(history.loss)
        self.t_ += len(history.loss) * n_train
        self.stop_reason_ = history.stop_reason
        self.history_ = plain_data(history.as_dict())
        self._optimizer_state = _saved_state(state, self.training_options()["optimizer"])

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

    def _callback(self, callback, tasks=None):
        """train.fit's callback: the verbose report, the caller's `callback`, then the scikit-learn callbacks'
        epoch tasks (`callbacks.EpochTasks`); True when either of the last two asks to stop."""
        if not self.verbose and tasks is None:
            return callback

        def report_then_call(state):
            if self.verbose:
                self._report(state)
            stop = callback is not None and callback(state) is True
            if tasks is not None:
                stop = tasks(state) or stop
            return stop
        return report_then_call

    def _tasks(self, X, y, sample_weight, n_epochs, classes, bias):
        """The scikit-learn callbacks' tasks of this fit (n_epochs epochs) or partial_fit (None): X, y as given."""
        if not callbacks.AVAILABLE:
            return None
        return callbacks.EpochTasks(self, X, y, sample_weight, n_epochs, classes, bias)

    def _report(self, state):
        """fit's callback with verbose=True: one line per epoch."""
        history = state.history
        line = f"epoch {state.epoch}, loss = {history.loss[-1]:.6f}"
        if history.val_loss:
            line += f", validation loss = {history.val_loss[-1]:.6f}, accuracy = {history.val_accuracy[-1]:.4f}"
        print(line, file=sys.stdout, flush=True)

    def _checked_input(self, X):
        check_is_fitted(self, "params_")
        _check_sparse_host(X)
        X = validate_data(self, X, accept_sparse="csr", dtype=_floats(X), reset=False)
        W1 = self.params_[0]
        if sparse.is_sparse(X):  # CSR in the weights' dtype, never densified whole
            return self._with_bias(sparse.as_csr(X, W1.dtype))
        if not devices.is_host(W1):  # fitted on a device: X goes there too
            return self._with_bias(devices.like_weights(X, W1))
        return self._with_bias(np.asarray(X, dtype=W1.dtype))

    def _with_bias(self, X, bias=None):
        """X (N, D), or [X, 1] (N, D + 1) with the input bias (`bias`, else the fitted `input_bias_`)."""
        if not (self.input_bias_ if bias is None else bias):
            return X
        if sparse.is_sparse(X):  # the ones column appended as a sparse column: X stays CSR
            import scipy.sparse as sp
            ones = type(X)(np.ones((X.shape[0], 1), dtype=X.dtype))
            return sp.hstack([X, ones], format="csr", dtype=X.dtype)
        if not devices.is_host(X):  # an array of another library: the ones column made on its device
            xp = devices.namespace(X)
            return xp.concat([X, xp.ones((X.shape[0], 1), dtype=X.dtype, device=devices.device(X))], axis=1)
        return np.concatenate([X, np.ones((X.shape[0], 1), dtype=X.dtype)], axis=1)

    def _class_weights(self, classes, index):
        """The weight of each class index (C,), or None: from `class_weight` ("balanced" as LogisticRegression)."""
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, str):  # "balanced": n_samples / (n_classes * count)
            from sklearn.utils.class_weight import compute_class_weight
            return compute_class_weight("balanced", classes=np.arange(len(classes)), y=index)
        unknown = [k for k in self.class_weight if k not in set(classes.tolist())]
        if unknown:
            raise ValueError(f"class_weight names labels {unknown[:5]} that are not among the classes "
                             f"{classes.tolist()[:12]}")
        return np.array([float(self.class_weight.get(c, 1.0)) for c in classes.tolist()])

    def _validation_metric(self, classes):
        """train.fit's validation_metric for `scoring`: None (the loss), "accuracy", or a scorer on a snapshot."""
        if self.scoring == "loss":
            return None
        if self.scoring == "accuracy":
            return "accuracy"
        from sklearn.metrics import get_scorer

        scorer = get_scorer(self.scoring)
        return lambda params, X_val, y_val, w_val: scorer(_Snapshot(params, classes), X_val,
                                                          classes[devices.to_host(y_val)],
                                                          sample_weight=devices.to_host(w_val))

    def _params(self):
        """The fitted weights as `model.Params` (the fitted attribute itself is a plain tuple)."""
        return model.Params(*self.params_)

    def _forward(self, X):
        X = self._checked_input(X)
        if sparse.is_sparse(X):  # by blocks of rows: theta, y_hat and log_y_hat only
            return sparse.finite_forward(self._params(), X)
        return model.forward(self._params(), X)

    # ------------------------------------------------------------- Dask input

    def _fit_dask(self, X, y, sample_weight, *, callback, resume, record_flow):
        """`fit` on Dask collections: full batch, by `dask_training.fit_dask` (see fit's Notes)."""
        from . import dask_training

        self._check_betas()
        options = self.training_options()
        if record_flow:
            raise ValueError("record_flow is not available on Dask input")
        for name, default in (("class_weight", None), ("scoring", "loss")):
            if getattr(self, name) != default:
                raise ValueError(f"{name}={getattr(self, name)!r} is not available on Dask input yet "
                                 f"(leave it at {default!r})")
        if options["batch_size"] is not None and options["optimizer"] != "lbfgs":
            warnings.warn(f"ResidualMLPClassifier: batch_size={options['batch_size']} is ignored on Dask input: "
                          f"training is full batch (set batch_size=None, or recipe='seed')", UserWarning,
                          stacklevel=4)
        warm = self.warm_start and hasattr(self, "params_")
        names = getattr(X, "columns", None)
        if hasattr(y, "to_dask_array") and not isinstance(getattr(y, "dtype", None), np.dtype):
            y = y.astype(object)  # a text (or other extension) dtype: its values as Python objects
        X = dask_training._as_dask_rows(X, "X", 2)
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X has dtype {X.dtype}: ResidualMLPClassifier takes numbers (see "
                             f"residual_mlp.dask_pipeline for tables on Dask)")
        X = X.astype(dtype)
        D = X.shape[1]
        if warm and D != self.n_features_in_:
            raise ValueError(f"X has {D} features, but ResidualMLPClassifier is expecting "
                             f"{self.n_features_in_} features as input")
        pre = dask_training.prepass(X, y, sample_weight, classes=self.classes_ if warm else None)
        if pre.n_missing.any():
            raise ValueError(f"Input X contains NaN ({int(pre.n_missing.sum())} values); impute them first")
        if not (np.isfinite(pre.mean_).all() and np.isfinite(pre.var_).all()):
            raise ValueError("Input X contains infinity or a value too large for float64")
        seed = self._seed()
        bias = self.input_bias_ if warm else options["input_bias"]
        if bias:  # x <- [x, 1], after the pre-pass's statistics of the features themselves
            X = X.map_blocks(_append_one, chunks=(X.chunks[0], (D + 1,)), dtype=X.dtype)
        if resume is not None:
            params = resume.params
        elif warm:
            params = self._params()
        else:
            params = model.init_params(X.shape[1], self.n_hidden, len(pre.classes), seed=seed, dtype=dtype)
        index, weights, validation, n_train = pre.y, sample_weight, None, pre.n_samples
        if self.early_stopping:
            held_out = pre.validation_mask(self.validation_fraction, seed)
            validation = (dask_training.select_rows(X, held_out), dask_training.select_rows(index, held_out))
            X, index = dask_training.select_rows(X, ~held_out), dask_training.select_rows(index, ~held_out)
            if weights is not None:
                weights = dask_training.select_rows(dask_training._aligned(weights, X, "sample_weight"),
                                                    ~held_out)
            n_train -= pre.validation_size(self.validation_fraction)
        patience = self.patience if self.patience is not None or not self.early_stopping else 10
        fit_options = self._fit_options(options)
        for name in ("batch_size", "shuffle", "n_threads"):  # not options of fit_dask
            fit_options.pop(name, None)
        # the callbacks' tasks get no data: scoring a snapshot on a Dask collection would compute it every epoch
        tasks = self._tasks(None, None, None, options["max_iter"], self.classes_ if warm else pre.classes, bias)
        if tasks is not None:
            tasks.begin(params)

        params, history, state = dask_training.fit_dask(
            params, X, index, **fit_options, epochs=options["max_iter"], sample_weight=weights,
            validation=validation, patience=patience, seed=seed, callback=self._callback(callback, tasks),
            resume=resume)

        if history.stop_reason in train.DIVERGED:  # as the in-memory fit
            raise Diverged(f"ResidualMLPClassifier: {history.message}")
        if not warm:
            self.classes_, self.input_bias_ = pre.classes, bias
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_ = self.validation_loss_curve_ = None
            self.n_features_in_ = D
            if names is not None and all(isinstance(c, str) for c in names):
                self.feature_names_in_ = np.asarray(list(names), dtype=object)
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        return self._finish_fit(params, history, state, n_train, options, patience, tasks)

    def _predict_dask(self, X, what):
        """predict / predict_proba / predict_log_proba / decision_function of Dask input, lazily."""
        from . import dask_training

        check_is_fitted(self, "params_")
        names = getattr(self, "feature_names_in_", None)
        if hasattr(X, "columns") and names is not None and list(X.columns) != list(names):
            missing = [n for n in names if n not in set(X.columns)]
            if missing:
                raise ValueError(f"X lacks the feature column(s) {missing[:5]} seen in fit")
            X = X[list(names)]
        X = dask_training._as_dask_rows(X, "X", 2)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but ResidualMLPClassifier is expecting "
                             f"{self.n_features_in_} features as input")
        X = X.astype(self.params_[0].dtype)
        if getattr(self, "input_bias_", False):  # a model fitted with the constant feature
            X = X.map_blocks(self._with_bias, chunks=(X.chunks[0], (X.shape[1] + 1,)), dtype=X.dtype)
        if what == "predict":
            index = dask_training.predict_dask(self._params(), X)
            return index.map_blocks(_classes_at, self.classes_, dtype=self.classes_.dtype)
        if what == "predict_proba":
            return dask_training.predict_proba_dask(self._params(), X)
        if what == "predict_log_proba":
            return dask_training.forward_dask(self._params(), X, "log_y_hat")
        theta = dask_training.forward_dask(self._params(), X, "theta")  # (N, C)
        return theta[:, 1] - theta[:, 0] if theta.shape[1] == 2 else theta

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # scikit-learn's array API dispatch: torch, CuPy, ... stay on their device. Declared from scikit-learn 1.9,
        # whose checks let classes_ hold the labels on the host (1.6 to 1.8 want them in X's library too)
        tags.array_api_support = SKLEARN_VERSION >= (1, 9)
        tags.input_tags.sparse = True  # SciPy sparse X, a block of rows densified at a time (sparse.py)
        return tags

    def _check_namespace(self, X, method):
        """With array API dispatch on, X must be of the library and on the device of the fitted weights
        (scikit-learn's rule; its message). Move one of them: ``devices.to_device(est.params_, X)``."""
        if not get_config()["array_api_dispatch"]:
            return
        check_is_fitted(self, "params_")
        W1 = self.params_[0]
        X_host = not devices.is_array(X) or devices.is_host(X)
        if X_host and devices.is_host(W1):
            return
        if not X_host and devices.namespace(X) is devices.namespace(W1) and devices.device(X) == devices.device(W1):
            return
        fitted = f"{devices.namespace(W1).__name__} on {devices.device(W1)}"
        given = "NumPy or array-like" if X_host else f"{devices.namespace(X).__name__} on {devices.device(X)}"
        raise ValueError(f"Inputs passed to {type(self).__name__}.{method}() must use the same namespace and the same "
                         f"device as those passed to fit(): fit used {fitted}, {method} got {given}")

    def __setstate__(self, state):
        if "_train_state" in state:  # pickled by residual_mlp 0.2.0, whose optimizer state was a TrainState
            old = state.pop("_train_state")
            optimizer = state.pop("_state_optimizer", None)
            state["_optimizer_state"] = None if old is None else _saved_state(old, optimizer)
        if isinstance(state.get("history_"), train.History):
            state["history_"] = plain_data(state["history_"].as_dict())
        for name in CURVES:  # a model file holds the per-epoch lists as arrays (saving.pack_floats)
            if name in state:
                state[name] = unpack_floats(state[name])
        if isinstance(state.get("params_"), list):
            state["params_"] = tuple(state["params_"])
        super().__setstate__(state)


def _saved_state(state, optimizer):
    """The part of a finished run's `train.TrainState` that `partial_fit` continues, as plain data."""
    if state is None or optimizer == "lbfgs":  # L-BFGS has no partial_fit: nothing to continue
        return None
    slots = {k: tuple(v) for k, v in state.opt_state.items() if k != "step"}
    # partial_fit monitors the training loss: a best value of a validation loss or score means nothing to it
    validated = len(state.history.val_loss) > 0
    return {"optimizer": optimizer, "step": int(state.opt_state.get("step", 0)), "slots": slots,
            "epoch": int(state.epoch), "seed": int(state.seed), "lr_scale": float(state.lr_scale),
            "monitor_best": math.inf if validated else float(state.monitor_best),
            "plateau_bad": 0 if validated else int(state.plateau_bad)}


def _train_state(saved, params):
    """A `train.TrainState` continuing `saved` (see `_saved_state`) from `params`, with a fresh History."""
    opt_state = {"step": saved["step"], **{k: model.Params(*v) for k, v in saved["slots"].items()}}
    return train.TrainState(params=params, opt_state=opt_state, epoch=saved["epoch"], seed=saved["seed"],
                            history=train.History(), lr_scale=saved["lr_scale"],
                            monitor_best=saved["monitor_best"], plateau_bad=saved["plateau_bad"])


def _is_dask(X):
    """Whether X is a Dask collection; never imports dask (without it loaded, X cannot be one)."""
    dask = sys.modules.get("dask")
    return dask is not None and dask.is_dask_collection(X)


def _classes_at(index, classes):
    return classes[index]


def _drop_zero_weights(X, index, sample_weight):
    """Rows of weight 0 count for nothing: they are removed, so they take no place in a mini-batch."""
    if sample_weight is None:
        return X, index, None
    sample_weight = devices.to_host(sample_weight)  # of any array library
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
    w = w.astype(devices.numpy_dtype(X.dtype))  # X.dtype may be of another library
    if keep.all():
        return X, index, w
    if not devices.is_host(X):  # an array on a device: the kept rows are taken there
        return devices.take_rows(X, np.flatnonzero(keep)), index[keep], w[keep]
    return X[keep], index[keep], w[keep]


def _n_train_rows(n_rows, validation_fraction):
    """Rows left for training after train.fit holds out validation_fraction (train_test_split's ceil)."""
    if not validation_fraction:
        return n_rows
    return n_rows - math.ceil(validation_fraction * n_rows)


class _Snapshot(ClassifierMixin, BaseEstimator):
    """The network at one epoch, for a scikit-learn scorer during early stopping (inputs as the network sees
    them: standardized, with the bias column when there is one). Never saved. Its outputs are NumPy arrays
    whatever the library of the weights (one copy of the validation set's predictions per epoch off a
    device), so every scikit-learn scorer takes them."""

    def __init__(self, params=None, classes=None):
        self.params = params
        self.classes = classes

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        return self.classes

    def predict_proba(self, X):
        if sparse.is_sparse(X):
            return sparse.predict_proba(self.params, X)
        return devices.to_host(model.predict_proba(self.params, X))

    def predict(self, X):
        if sparse.is_sparse(X):
            return self.classes[sparse.predict(self.params, X)]
        return self.classes[devices.to_host(model.predict(self.params, X))]

    def decision_function(self, X):
        outputs = sparse.forward if sparse.is_sparse(X) else model.forward
        theta = devices.to_host(outputs(self.params, X).theta)
        return theta[:, 1] - theta[:, 0] if theta.shape[1] == 2 else theta


def _append_one(block):
    """[block, 1]: a row block of the network's input with the constant feature (input_bias) appended."""
    return np.concatenate([block, np.ones((block.shape[0], 1), dtype=block.dtype)], axis=1)


def _check_sparse_host(X):
    """A SciPy sparse X with array API dispatch on: refused in one line (sparse input trains on the host only)."""
    if sparse.is_sparse(X) and get_config()["array_api_dispatch"]:
        raise InputError(f"X is a SciPy sparse {X.format} matrix, which trains and predicts on the host only: "
                         f"turn array API dispatch off (sklearn.set_config(array_api_dispatch=False)), or "
                         f"give a dense array of the library you want")


def _floats(X):
    """The float dtypes validate_data may keep: NumPy's, or with array API dispatch those of X's library."""
    if get_config()["array_api_dispatch"] and devices.is_array(X) and not devices.is_host(X):
        xp = devices.namespace(X)
        return (xp.float64, xp.float32)
    return _FLOATS
