"""ONNX export against onnxruntime: largest probability difference, label agreement and file size.

Fits, with the defaults otherwise, three pipelines in float32 and in float64 on a stratified 75/25
split (seed 0): digits behind StandardScaler with n_hidden=128 (the default model of the README's
performance table), iris with string labels, and Palmer penguins (bundled with the `palmerpenguins`
package: gaps in numbers and text, categories) behind the ColumnTransformer of the table encoder.
For each it exports the pipeline with `residual_mlp.onnx_export.to_onnx`, runs it in onnxruntime on
the training and test rows, and prints the largest |probability difference| against
`predict_proba`, the labels differing from `predict` and the rows whose top two probabilities tie
within float32 rounding, and the size of the ONNX file.

    python benchmarks/onnx_agreement.py
"""
from __future__ import annotations

import platform
import warnings

import numpy as np
import onnxruntime as ort
import pandas as pd
import skl2onnx
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, load_iris
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from residual_mlp import onnx_export
from residual_mlp.estimator import ResidualMLPClassifier


def digits(dtype):
    X, y = load_digits(return_X_y=True)
    return X.astype(dtype), y, make_pipeline(StandardScaler(), ResidualMLPClassifier(n_hidden=128, random_state=0))


def iris(dtype):
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    return X.astype(dtype), names, make_pipeline(StandardScaler(), ResidualMLPClassifier(random_state=0))


def penguins(dtype):
    from palmerpenguins import load_penguins

    X = load_penguins()
    X = X[X["species"].notna()]
    y = X.pop("species").to_numpy()
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
    X[numeric] = X[numeric].astype(dtype)
    columns = ColumnTransformer([
        ("numeric", Pipeline([("impute", SimpleImputer(strategy="median", add_indicator=True)),
                              ("scale", StandardScaler())]), numeric),
        ("categorical", Pipeline([("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                                  ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                                           dtype=dtype))]), ["island", "sex"]),
    ], remainder="drop", sparse_threshold=0)
    return X, y, Pipeline([("columns", columns), ("classifier", ResidualMLPClassifier(random_state=0))])


def compare(name, dtype):
    X, y, pipe = {"digits": digits, "iris": iris, "penguins": penguins}[name](dtype)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.fit(X_train, y_train)
    onnx_model = onnx_export.to_onnx(pipe, X_train[:5])
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    rows = pd.concat([X_train, X_test]) if isinstance(X, pd.DataFrame) else np.vstack([X_train, X_test])
    label, proba = session.run(["label", "probabilities"], onnx_export.input_feed(onnx_model, rows))
    expected = pipe.predict_proba(rows)
    top = np.sort(expected, axis=1)[:, -2:]
    ties = top[:, 1] - top[:, 0] <= 8 * np.finfo(np.float32).eps * top[:, 1]
    differ = label != pipe.predict(rows)
    return {"data": name, "dtype": np.dtype(dtype).name, "rows": len(label),
            "weights": str(pipe[-1].params_[0].dtype), "max_diff": float(np.abs(proba - expected).max()),
            "differ": int(differ.sum()), "differ_outside_ties": int((differ & ~ties).sum()), "ties": int(ties.sum()),
            "bytes": len(onnx_model.SerializeToString())}


def main():
    print(f"onnxruntime {ort.__version__}, skl2onnx {skl2onnx.__version__}, scikit-learn {sklearn.__version__}, "
          f"numpy {np.__version__}, {platform.machine()}")
    print(f"{'data':<9}{'dtype':<9}{'rows':>6}  {'max |dp|':>10}  {'labels differ':>13}  {'outside ties':>12}  "
          f"{'ties':>5}  {'ONNX bytes':>10}")
    for name in ("digits", "iris", "penguins"):
        for dtype in (np.float32, np.float64):
            r = compare(name, dtype)
            print(f"{r['data']:<9}{r['dtype']:<9}{r['rows']:>6}  {r['max_diff']:>10.3g}  {r['differ']:>13}  "
                  f"{r['differ_outside_ties']:>12}  {r['ties']:>5}  {r['bytes']:>10,}")


if __name__ == "__main__":
    main()
