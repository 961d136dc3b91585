"""ONNX export of a fitted `ResidualMLPClassifier`, alone or at the end of a scikit-learn Pipeline.

The network's graph is the seed's forward pass written in ONNX operators, one node per equation:

    z = Relu(x)   h = MatMul(z, W1^T)   s = Add(h, x)   t = MatMul(s, W2^T)   p = Relu(t)
    q = MatMul(p, W3^T)   r = Add(q, t)   theta = MatMul(r, W4^T)
    probabilities = Softmax(theta)        label = Gather(classes, ArgMax(theta))

It is registered with skl2onnx (`register`, done on import), so ``skl2onnx.to_onnx`` converts any
Pipeline that ends in a `ResidualMLPClassifier`. `to_onnx` here adds what a plain skl2onnx call lacks:
converters for SimpleImputer and MissingIndicator built from IsNaN/Where (so float64 graphs run in
onnxruntime, which has no float64 Imputer, and ``add_indicator`` is honoured), exact division in
StandardScaler, a one-line `InputError` for any step it cannot export, and a pinned opset. These
converters are passed to skl2onnx for that one call only: a plain ``skl2onnx.to_onnx`` of a user's
own SimpleImputer keeps skl2onnx's converter.

The ONNX model has the outputs ``label`` (N,) (int64 for integer labels, string for string labels)
and ``probabilities`` (N, C) (a tensor, column k for ``classes_[k]``). Its inputs:

- a Pipeline that starts with a ColumnTransformer selecting columns by name (or the table encoder of
  `residual_mlp.make_pipeline`) takes one input per column it reads, named as the column, of shape
  (N, 1): numbers (booleans as 0/1) in the graph's float type with NaN for a missing value, text as
  strings with "" for a missing value. `input_feed` builds these from a DataFrame.
- anything else takes one input ``X`` (N, D) in the graph's float type.

A table encoder that expands date columns is exported with the date parts as numeric inputs, under
the names the encoder gave them: the ONNX model reads the parts, not the dates.
"""
from __future__ import annotations

import numpy as np

from .atomic import write_atomic
from .errors import InputError, short_reason

# Opset 18 (onnx 1.13) and ai.onnx.ml 3: read by onnxruntime >= 1.14 and written by skl2onnx >= 1.14,
# older than the versions pyproject's `onnx` extra asks for, so every allowed install handles it.
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
ALIAS = "ResidualMLPClassifier"
_SUPPORTED = "StandardScaler, SimpleImputer, MissingIndicator, OneHotEncoder, ColumnTransformer, Pipeline"


def to_onnx(model, X_sample=None, *, target_opset=None, dtype=None):
    """An ONNX model of a fitted ResidualMLPClassifier or of a Pipeline ending in one.

    Parameters
    ----------
    model : ResidualMLPClassifier or sklearn.pipeline.Pipeline
        Fitted. A Pipeline's other steps may be StandardScaler, SimpleImputer, MissingIndicator,
        OneHotEncoder (without infrequent categories), ColumnTransformer, nested Pipelines and
        "passthrough", and the table encoder of `residual_mlp.make_pipeline`.
    X_sample : array-like or DataFrame of shape (n, D), optional
        A few rows as the model is given them, checked against the inputs the fitted model
        declares (names, numbers or text, width D): an InputError names the first disagreement.
        The inputs themselves are read from the fitted model, so it may be left out.
    target_opset : dict or int, optional
        Opset of the graph; default `TARGET_OPSET` ({"": 18, "ai.onnx.ml": 3}).
    dtype : {numpy.float32, numpy.float64}, optional
        Float type of the inputs and of the preprocessing; default the dtype of the classifier's
        weights. The network itself always runs in the dtype of its weights, as `predict_proba` does.

    Returns
    -------
    onnx.ModelProto
        Outputs ``label`` (N,) and ``probabilities`` (N, C); see the module's docstring for inputs.

    Raises
    ------
    InputError
        A step that cannot be exported (named by its path in the pipeline), an unfitted model,
        labels other than integers or strings.
    ImportError
        skl2onnx or onnx is missing (``pip install residual_mlp[onnx]``).

    See Also
    --------
    input_feed : the inputs of the ONNX model for rows of a table, for onnxruntime.
    save_onnx : the same, written to a file.
    """
    from skl2onnx import convert_sklearn
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.preprocessing import StandardScaler

    register()
    classifier, exported = _exportable(model)
    weights = np.dtype(classifier.params_[0].dtype)
    dtype = weights if dtype is None else np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InputError(f"dtype must be float32 or float64, got {dtype}")
    initial_types = _initial_types(exported, X_sample, dtype, _raw_columns(model))
    opset = TARGET_OPSET if target_opset is None else target_opset
    try:
        onnx_model = convert_sklearn(
            exported, initial_types=initial_types, target_opset=opset, name=type(model).__name__,
            options={StandardScaler: {"div": "div"}},
            custom_conversion_functions={SimpleImputer: _convert_imputer, MissingIndicator: _convert_indicator},
            custom_shape_calculators={SimpleImputer: _imputer_shape, MissingIndicator: _indicator_shape})
    except InputError:
        raise
    except Exception as e:  # skl2onnx's own refusals, as one line naming the model
        raise InputError(f"cannot export {type(model).__name__} to ONNX: {short_reason(e)}") from e
    # skl2onnx declares the highest opsets its nodes need; declare the pinned ones (skl2onnx.to_onnx
    # does the same for the main domain)
    pinned = opset if isinstance(opset, dict) else {"": opset}
    for entry in onnx_model.opset_import:
        if entry.domain in pinned:
            entry.version = pinned[entry.domain]
    return onnx_model


def save_onnx(model, X_sample, path, **options):
    """Write `to_onnx(model, X_sample, **options)` to `path` atomically; returns the ModelProto."""
    onnx_model = to_onnx(model, X_sample, **options)
    write_atomic(path, onnx_model.SerializeToString())
    return onnx_model


def input_feed(onnx_model, X):
    """The ``{input name: array}`` that onnxruntime's ``InferenceSession.run`` takes for rows X.

    One input ``X``: X as a 2-D array in the input's float type. One input per column: each column
    of the DataFrame X as (N, 1): numbers and booleans in the input's float type (missing as NaN),
    text as an object array of str (NaN, pandas.NA and None as "", the graph's missing text).
    scikit-learn's SimpleImputer(missing_values=np.nan) counts NaN but not None as missing in an
    object column (pandas' str dtype stores None as NaN, so only object columns differ there).
    """
    import onnx

    inputs = [(i.name, i.type.tensor_type.elem_type) for i in onnx_model.graph.input]
    if len(inputs) == 1 and inputs[0][0] == "X" and "X" not in getattr(X, "columns", ()):
        values = np.asarray(X, dtype=onnx.helper.tensor_dtype_to_np_dtype(inputs[0][1]))
        dims = onnx_model.graph.input[0].type.tensor_type.shape.dim
        width = dims[1].dim_value if len(dims) == 2 and dims[1].HasField("dim_value") else None
        if values.ndim != 2 or (width is not None and values.shape[1] != width):
            raise InputError(f"X has shape {values.shape}; the ONNX model takes rows of {width} features")
        return {"X": values}
    feed = {}
    for name, elem in inputs:
        if name not in getattr(X, "columns", ()):
            raise InputError(f"the table has no column {name!r}, an input of the ONNX model")
        column = X[name]
        if elem == onnx.TensorProto.STRING:
            values = np.array(["" if _is_missing(v) else str(v) for v in column], dtype=object)
        else:
            try:
                values = column.to_numpy(dtype=onnx.helper.tensor_dtype_to_np_dtype(elem), na_value=np.nan)
            except (TypeError, ValueError):
                raise InputError(f"column {name!r}: expected numbers for this input of the ONNX model, "
                                 f"found {column.dtype}") from None
        feed[name] = values.reshape(-1, 1)
    return feed


def register():
    """Register the ResidualMLPClassifier converter with skl2onnx (done when this module is imported).

    Afterwards ``skl2onnx.to_onnx(pipeline, X)`` converts a Pipeline ending in a
    ResidualMLPClassifier, with outputs ``label`` and ``probabilities`` (no ZipMap: the option
    ``zipmap`` is accepted and has no effect).
    """
    from skl2onnx import update_registered_converter

    from .estimator import ResidualMLPClassifier

    # skl2onnx's Pipeline parser gives every classifier the option zipmap=True; it is accepted and
    # ignored here: the probabilities are always one tensor.
    update_registered_converter(ResidualMLPClassifier, ALIAS, _classifier_shape, _convert_classifier,
                                parser=_parse_classifier, options={"zipmap": [True, False, "columns"]})


# ----------------------------------------------------------------------- which steps can go


def _exportable(model):
    """(the classifier, the model as skl2onnx converts it), or InputError naming a step that cannot go."""
    from sklearn.pipeline import Pipeline

    from .estimator import ResidualMLPClassifier

    if isinstance(model, ResidualMLPClassifier):
        _check_fitted(model, type(model).__name__)
        return model, model
    if not isinstance(model, Pipeline):
        raise InputError(f"cannot export {type(model).__name__} to ONNX: expected a ResidualMLPClassifier "
                         f"or a Pipeline ending in one")
    steps = [(name, step) for name, step in model.steps if step not in (None, "passthrough")]
    if not steps or not isinstance(steps[-1][1], ResidualMLPClassifier):
        last = type(steps[-1][1]).__name__ if steps else "nothing"
        raise InputError(f"cannot export the pipeline to ONNX: its last step is {last}, not a "
                         f"ResidualMLPClassifier")
    classifier = steps[-1][1]
    _check_fitted(classifier, steps[-1][0])
    rebuilt = [(name, _transformer(step, name)) for name, step in steps[:-1]] + [steps[-1]]
    return classifier, Pipeline(rebuilt)


def _transformer(step, path):
    """The fitted transformer skl2onnx converts for a pipeline step, after checking every part of it."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if hasattr(step, "transformer_") and hasattr(step, "input_columns_"):  # make_pipeline's table encoder
        return _transformer(step.transformer_, f"{path} > transformer_")
    if isinstance(step, Pipeline):
        return Pipeline([(name, _transformer(s, f"{path} > {name}")) for name, s in step.steps
                         if s not in (None, "passthrough")])
    if isinstance(step, ColumnTransformer):
        if not hasattr(step, "transformers_"):
            raise InputError(f"cannot export step {path!r}: ColumnTransformer is not fitted")
        for name, part, _ in step.transformers_:
            if not isinstance(part, str):
                _transformer(part, f"{path} > {name}")
        return step
    if isinstance(step, OneHotEncoder):
        if getattr(step, "infrequent_categories_", None) is not None and any(
                c is not None for c in step.infrequent_categories_):
            raise InputError(f"cannot export step {path!r}: OneHotEncoder with infrequent categories "
                             f"(min_frequency, max_categories)")
        return step
    if isinstance(step, (StandardScaler, SimpleImputer, MissingIndicator)):
        return step
    raise InputError(f"cannot export step {path!r} ({type(step).__name__}) to ONNX: supported steps are "
                     f"{_SUPPORTED}")


def _check_fitted(classifier, path):
    if not hasattr(classifier, "params_"):
        raise InputError(f"cannot export step {path!r}: ResidualMLPClassifier is not fitted")
    if _labels(classifier) is None:
        raise InputError(f"cannot export step {path!r}: ONNX labels are integers or strings, but the "
                         f"classes are {np.asarray(classifier.classes_).tolist()[:5]}")


def _raw_columns(model):
    """The columns a table encoder at the head of `model` reads, or None: X_sample holds these, and
    not the date parts the encoder makes of some of them."""
    from sklearn.pipeline import Pipeline

    while isinstance(model, Pipeline):
        model = next(step for _, step in model.steps if step not in (None, "passthrough"))
    if hasattr(model, "transformer_") and hasattr(model, "input_columns_"):
        return {str(c) for c in model.input_columns_}
    return None


def _initial_types(exported, X_sample, dtype, raw_columns=None):
    """skl2onnx's input declarations, read from the fitted model; X_sample, if given, must agree.

    A ColumnTransformer selecting by name: one (N, 1) input per column it reads, in the order it was
    fitted on, text where its imputer or one-hot encoder learned strings, numbers otherwise.
    Anything else: one input X (N, D).
    """
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        StringTensorType,
    )
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    float_type = FloatTensorType if dtype == np.float32 else DoubleTensorType
    first = exported
    while isinstance(first, Pipeline):  # the step that reads the input, in nested pipelines too
        first = first.steps[0][1]
    if isinstance(first, ColumnTransformer) and _selects_by_name(first) and hasattr(first, "feature_names_in_"):
        used = _used_columns(first)
        names = [str(c) for c in first.feature_names_in_ if c in used]
        text = {name: _reads_text(first, name) for name in names}
        columns = getattr(X_sample, "columns", None)
        if X_sample is not None and columns is None:
            raise InputError("X_sample must be a DataFrame: the pipeline selects its columns by name")
        for name in names if X_sample is not None else ():
            if raw_columns is not None and name not in raw_columns:
                continue  # a part the table encoder makes (of a date): not in X_sample
            if name not in columns:
                raise InputError(f"X_sample has no column {name!r}, which the pipeline reads")
            if not text[name] and X_sample[name].dtype.kind not in "fiub":
                raise InputError(f"column {name!r} of X_sample holds {X_sample[name].dtype}, but the pipeline "
                                 f"reads it as numbers")
        return [(name, StringTensorType([None, 1]) if text[name] else float_type([None, 1])) for name in names]
    D = int(first.n_features_in_)
    if X_sample is not None:
        X = np.asarray(X_sample)
        if X.ndim != 2 or X.shape[1] != D:
            raise InputError(f"X_sample must have shape (n, {D}), as the model was fitted, got {X.shape}")
        if X.dtype.kind not in "fiub":
            raise InputError(f"X_sample holds {X.dtype}, not numbers: text needs a Pipeline that starts "
                             f"with a ColumnTransformer selecting columns by name")
    return [("X", float_type([None, D]))]


def _reads_text(ct, name):
    """Whether the part of the ColumnTransformer `ct` that reads column `name` learned strings from it."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    for _, part, columns in ct.transformers_:
        columns = [columns] if isinstance(columns, str) else list(columns)
        if isinstance(part, str) or name not in columns:
            continue
        first = part.steps[0][1] if isinstance(part, Pipeline) else part
        if isinstance(first, SimpleImputer):
            return np.asarray(first.statistics_).dtype.kind in "OUS"
        if isinstance(first, OneHotEncoder):
            return first.categories_[columns.index(name)].dtype.kind in "OUS"
        return False
    return False


def _selects_by_name(ct):
    return all(isinstance(c, str) or (isinstance(c, (list, tuple, np.ndarray)) and all(isinstance(v, str) for v in c))
               for _, part, c in ct.transformers_ if not (isinstance(part, str) and part == "drop"))


def _used_columns(ct):
    used = set()
    for _, part, c in ct.transformers_:
        if isinstance(part, str) and part == "drop":
            continue
        used.update([c] if isinstance(c, str) else list(c))
    return used


def _is_missing(v):
    """None, NaN or pandas.NA: the values scikit-learn's imputers treat as missing by default."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return type(v).__name__ == "NAType"  # pandas.NA, without importing pandas


# ------------------------------------------------------------------ the classifier's converter


def _parse_classifier(scope, model, inputs, custom_parsers=None):
    """Declare the two outputs, label and probabilities, with no ZipMap."""
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    operator = scope.declare_local_operator(ALIAS, model)
    operator.inputs = inputs
    label_type = StringTensorType() if _string_labels(model) else Int64TensorType()
    proba_type = FloatTensorType() if model.params_[0].dtype == np.float32 else DoubleTensorType()
    operator.outputs.append(scope.declare_local_variable("label", label_type))
    operator.outputs.append(scope.declare_local_variable("probabilities", proba_type))
    return operator.outputs


def _classifier_shape(operator):
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    model = operator.raw_operator
    N = operator.inputs[0].get_first_dimension()
    C = len(model.classes_)
    operator.outputs[0].type = (StringTensorType if _string_labels(model) else Int64TensorType)([N])
    operator.outputs[1].type = (FloatTensorType if model.params_[0].dtype == np.float32
                                else DoubleTensorType)([N, C])


def _convert_classifier(scope, operator, container):
    """The seed's forward pass, in the dtype of the weights (as predict_proba computes it)."""
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.operator_converters.common import concatenate_variables

    from . import model as network

    est = operator.raw_operator
    W1, W2, W3, W4 = est.params_
    P = np.dtype(W1.dtype)
    g = _Graph(scope, container, P)
    if len(operator.inputs) > 1:
        x = concatenate_variables(scope, operator.inputs, container)
    else:
        x = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) != g.proto:
        x = g.node("Cast", [x], to=g.proto)
    mean, scale = getattr(est, "_mean", None), getattr(est, "_scale", None)
    if mean is not None:  # the standardization a model file of `residual-mlp train` carries
        x = g.node("Div", [g.node("Sub", [x, g.const(mean)]), g.const(scale)])
    if getattr(est, "input_bias_", False):  # x <- [x, 1]: the constant feature appended last
        n = g.node("Slice", [g.node("Shape", [x]), g.const(np.array([0])), g.const(np.array([1]))])
        shape = g.node("Concat", [n, g.const(np.array([1]))], axis=0)
        ones = g.node("ConstantOfShape", [shape], value=_tensor(np.ones(1, dtype=P)))
        x = g.node("Concat", [x, ones], axis=1)
    assert network.Params._fields == ("W1", "W2", "W3", "W4")
    z = g.node("Relu", [x])                              # z = ReLU(x)
    h = g.node("MatMul", [z, g.const(W1.T)])             # h = W1 z
    s = g.node("Add", [h, x])                            # s = h + x        skip connection 1
    t = g.node("MatMul", [s, g.const(W2.T)])             # t = W2 s
    p = g.node("Relu", [t])                              # p = ReLU(t)
    q = g.node("MatMul", [p, g.const(W3.T)])             # q = W3 p
    r = g.node("Add", [q, t])                            # r = q + t        skip connection 2
    theta = g.node("MatMul", [r, g.const(W4.T)])         # theta = W4 r
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    container.add_node("Softmax", [theta], [proba], name=scope.get_unique_operator_name("Softmax"), axis=1)
    index = g.node("ArgMax", [theta], axis=1, keepdims=0)   # the first maximum, as numpy's argmax
    labels = g.const(_labels(est))
    container.add_node("Gather", [labels, index], [label], name=scope.get_unique_operator_name("Gather"), axis=0)


def _labels(est):
    """The classes as the graph's label table: int64 (integers, also as floats), str objects, or None."""
    classes = np.asarray(est.classes_)
    if all(isinstance(c, (str, np.str_)) for c in classes.tolist()):
        return np.array([str(c) for c in classes], dtype=object)
    if classes.dtype.kind not in "iubfO":
        return None
    try:
        whole = classes.astype(np.int64)
    except (TypeError, ValueError, OverflowError):
        return None
    return whole if np.array_equal(whole, classes) else None


def _string_labels(est):
    return _labels(est).dtype == object


# --------------------------------------------------------- imputation from IsNaN / Equal / Where


def _imputer_shape(operator):
    from skl2onnx.common.data_types import StringTensorType

    op = operator.raw_operator
    N = operator.inputs[0].get_first_dimension()
    width = int(np.sum(_kept(op)))
    if getattr(op, "indicator_", None) is not None:
        width += len(op.indicator_.features_)
    operator.outputs[0].type = operator.inputs[0].type.__class__([N, width])
    if isinstance(operator.inputs[0].type, StringTensorType) and op.indicator_ is not None:
        raise InputError("cannot export a SimpleImputer with add_indicator=True on text columns")


def _indicator_shape(operator):
    N = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = operator.inputs[0].type.__class__([N, len(operator.raw_operator.features_)])


def _convert_imputer(scope, operator, container):
    """x -> Where(missing, statistics_, x), the columns kept by scikit-learn, then the indicator columns."""
    op = operator.raw_operator
    g, x, text = _input(scope, operator, container)
    missing = _missing_mask(g, x, op.missing_values, text)
    if text:
        statistics = np.array([str(v) for v in op.statistics_], dtype=object)
    else:
        statistics = np.asarray(op.statistics_, dtype=g.dtype)
    imputed = g.node("Where", [missing, g.const(statistics), x])
    kept = _kept(op)
    if not kept.all():  # scikit-learn drops the columns that were all missing in training
        imputed = g.node("Gather", [imputed, g.const(np.flatnonzero(kept).astype(np.int64))], axis=1)
    out = operator.outputs[0].full_name
    if getattr(op, "indicator_", None) is None:
        container.add_node("Identity", [imputed], [out], name=scope.get_unique_operator_name("Identity"))
        return
    indicator = _indicator(g, missing, op.indicator_.features_)
    container.add_node("Concat", [imputed, indicator], [out], name=scope.get_unique_operator_name("Concat"),
                       axis=1)


def _convert_indicator(scope, operator, container):
    """MissingIndicator: 1.0 where a value of one of `features_` is missing, else 0.0."""
    op = operator.raw_operator
    g, x, text = _input(scope, operator, container)
    indicator = _indicator(g, _missing_mask(g, x, op.missing_values, text), op.features_)
    container.add_node("Identity", [indicator], [operator.outputs[0].full_name],
                       name=scope.get_unique_operator_name("Identity"))


def _input(scope, operator, container):
    from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
    from skl2onnx.operator_converters.common import concatenate_variables

    kind = operator.inputs[0].type
    text = isinstance(kind, StringTensorType)
    dtype = np.float64 if isinstance(kind, DoubleTensorType) else np.float32
    g = _Graph(scope, container, dtype)
    if len(operator.inputs) > 1:
        x = concatenate_variables(scope, operator.inputs, container)
    else:
        x = operator.inputs[0].full_name
    return g, x, text


def _missing_mask(g, x, missing_values, text):
    """A bool tensor, True where x holds `missing_values` (NaN for numbers; "" stands for NaN in text)."""
    if text:
        marker = missing_values if isinstance(missing_values, str) else ""
        hits = g.node("LabelEncoder", [x], op_domain="ai.onnx.ml", op_version=2, keys_strings=[marker],
                      values_int64s=[1], default_int64=0)
        return g.node("Cast", [hits], to=_proto(bool))
    if _is_missing(missing_values):
        return g.node("IsNaN", [x])
    return g.node("Equal", [x, g.const(np.array([missing_values], dtype=g.dtype))])


def _indicator(g, missing, features):
    picked = g.node("Gather", [missing, g.const(np.asarray(features, dtype=np.int64))], axis=1)
    return g.node("Cast", [picked], to=g.proto)


def _kept(op):
    """The columns scikit-learn's SimpleImputer keeps: those with a statistic (not all missing in fit)."""
    statistics = np.asarray(op.statistics_)
    if statistics.dtype.kind == "f" and not getattr(op, "keep_empty_features", False):
        return ~np.isnan(statistics)
    return np.ones(statistics.shape, dtype=bool)


# --------------------------------------------------------------------------------- helpers


class _Graph:
    """Adds nodes and constants to skl2onnx's container under unique names."""

    def __init__(self, scope, container, dtype):
        self.scope, self.container, self.dtype = scope, container, np.dtype(dtype)
        self.proto = _proto(self.dtype)

    def node(self, op_type, inputs, op_domain="", op_version=None, **attrs):
        out = self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(op_type, inputs, [out], op_domain=op_domain, op_version=op_version,
                                name=self.scope.get_unique_operator_name(op_type), **attrs)
        return out

    def const(self, value):
        """An initializer holding `value` (float arrays in their own dtype, text as strings)."""
        import onnx

        value = np.asarray(value)
        name = self.scope.get_unique_variable_name("const")
        if value.dtype.kind in "UOS":  # the container copies raw_data only, which strings lack
            self.container.add_initializer(name, onnx.TensorProto.STRING, list(value.shape),
                                           [str(v).encode() for v in value.ravel()])
        else:
            tensor = _tensor(value)
            self.container.add_initializer(name, tensor.data_type, list(value.shape), tensor)
        return name


def _tensor(value):
    import onnx

    value = np.asarray(value)
    if value.dtype.kind in "UOS":
        return onnx.helper.make_tensor("value", onnx.TensorProto.STRING, list(value.shape),
                                       [str(v).encode() for v in value.ravel()])
    return onnx.numpy_helper.from_array(value, "value")


def _proto(dtype):
    import onnx

    return onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


try:  # registration needs skl2onnx, an optional extra; without it the module still imports
    register()
except ImportError:  # pragma: no cover - without the onnx extra
    pass
