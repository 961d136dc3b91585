"""The network on a GPU: the gradient check, `fit` against NumPy, and step times against PyTorch eager.

    python benchmarks/gpu_check.py                  # on a CUDA machine (torch or CuPy); "no GPU" otherwise
    python benchmarks/gpu_check.py --cpu-self-test  # the same logic on torch CPU at small sizes (CI runs it)

One prepared script that finishes in a few minutes. It needs numpy, scipy, scikit-learn and torch or
CuPy, nothing else: it reads the package from ../src (no install needed; or `pip install
--no-build-isolation --no-deps .` on a machine without a package index), and array-api-compat falls back
to the copy scikit-learn vendors. On a machine without a CUDA device it prints "no GPU" and exits 0.

1. gradient check: central differences in float64 on the device (every weight of every matrix) against
   model.py's closed-form gradients computed there, relative error per tensor <= 1e-7.
2. fit equality: ten epochs of `fit` on the device against the same ten on NumPy (gd full batch, adam
   with mini-batches and weight decay, momentum with sample weights, L-BFGS, class weights with early
   stopping on the validation accuracy), float64: largest normwise relative
   difference of the weights <= 1e-12, and the loss curves within 1e-12.
3. step time: one full-batch training step of `fit` (everything it does per epoch: step, loss,
   accuracy, gradient norm, history) at the three largest sizes of bench_step.py, in float32 and float64,
   against the same network in PyTorch eager (autograd, torch.optim.SGD) on the same device; medians of
   `--steps` steps after two untimed ones; the ratio above 1 means fit is faster.

Determinism: TF32 is switched off for the checks (torch.backends.cuda.matmul.allow_tf32 = False and
cuDNN's likewise; CuPy does not use TF32 unless CUPY_TF32 is set). GPU results are reproducible
run to run on the same device, driver and library versions; they are not bit-equal to NumPy's (other
summation orders), hence the tolerances above. Exit status 1 when a check fails.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from residual_mlp import devices, model, train  # noqa: E402
from residual_mlp.gradcheck import check_gradients, make_problem  # noqa: E402

LARGEST_SIZES = [(1024, 784, 256, 10), (4096, 784, 1024, 10), (8192, 2048, 2048, 10)]  # bench_step's
SELF_TEST_SIZES = [(64, 32, 32, 10), (128, 48, 64, 10), (256, 64, 64, 10)]
GRAD_SHAPES = [(6, 4, 5, 3), (1, 3, 4, 2), (9, 5, 7, 6)]
GRAD_TOL, FIT_TOL = 1e-7, 1e-12
LR = 1e-3


class Backend:
    """The library and device under test: torch (CUDA, or CPU for the self-test) or CuPy."""

    def __init__(self, name, device=None):
        self.name, self.device = name, device
        if name == "torch":
            import torch
            self.torch = torch
            torch.backends.cuda.matmul.allow_tf32 = False  # the checks compare full float32/float64 products
            torch.backends.cudnn.allow_tf32 = False
        else:
            import cupy
            self.cupy = cupy

    def asarray(self, a, dtype=None):
        a = np.asarray(a) if dtype is None else np.asarray(a, dtype=dtype)
        if self.name == "torch":
            return self.torch.asarray(a, device=self.device)
        return self.cupy.asarray(a)

    def sync(self):
        if self.name == "torch":
            if self.device.startswith("cuda"):
                self.torch.cuda.synchronize()
        else:
            self.cupy.cuda.Device().synchronize()

    def describe(self):
        if self.name == "torch":
            torch = self.torch
            if self.device.startswith("cuda"):
                props = torch.cuda.get_device_properties(0)
                return (f"torch {torch.__version__} on {props.name} (CUDA {torch.version.cuda}, "
                        f"driver {_driver()})")
            return f"torch {torch.__version__} on CPU ({platform.processor() or platform.machine()}): self-test"
        cupy = self.cupy
        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
        name = name.decode() if isinstance(name, bytes) else name
        return f"CuPy {cupy.__version__} on {name} (CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()}, " \
               f"driver {_driver()})"


def find_backend(cpu_self_test):
    """torch CUDA, else CuPy with a device, else (self-test only) torch CPU; None when there is no GPU."""
    if cpu_self_test:
        return Backend("torch", "cpu")
    try:
        import torch
        if torch.cuda.is_available():
            return Backend("torch", "cuda")
    except ImportError:
        pass
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return Backend("cupy")
    except Exception:  # noqa: BLE001 (no CuPy, or CuPy without a driver)
        pass
    return None


def _driver():
    try:
        text = Path("/proc/driver/nvidia/version").read_text()
        return text.split("Kernel Module")[1].split()[0]
    except (OSError, IndexError):
        return "unknown"


def normwise(a, b):
    a, b = np.asarray(devices.to_host(a), np.float64), np.asarray(devices.to_host(b), np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300))


# ---- 1. the gradient check ----------------------------------------------------------------------

def gradient_check(backend):
    ok = True
    print(f"1. gradient check (float64 on the device, central differences, relative error per tensor <= "
          f"{GRAD_TOL:g})")
    for shape in GRAD_SHAPES:
        params, X, y = make_problem(*shape, seed=sum(shape))

        def grad_fn(P, X, y):
            Xd = backend.asarray(X)
            loss, grads = model.loss_and_grads(devices.to_device(P, Xd), Xd, backend.asarray(y))
            return float(loss), devices.to_host(grads)

        report = check_gradients(params, X, y, grad_fn, tol=GRAD_TOL)
        errors = " ".join(f"{row.name} {row.rel_error:.1e}" for row in report.rows)
        print(f"   N,D,M,C = {','.join(map(str, shape)):12} {errors}   {'PASS' if report.passed else 'FAIL'}")
        ok &= bool(report.passed)
    return ok


# ---- 2. fit on the device against fit on NumPy --------------------------------------------------

FIT_CASES = {
    "gd, full batch": dict(optimizer="gd", lr=0.1),
    "adam, batch 16, decay": dict(optimizer="adam", lr=0.01, batch_size=16, weight_decay=1e-3, seed=3),
    "momentum, weights": dict(optimizer="momentum", lr=0.05, weighted=True),
    "lbfgs": dict(optimizer="lbfgs", weight_decay=1e-3),
    "gd, class w., early stop": dict(optimizer="gd", lr=0.1, class_weight=[1.0, 2.0, 0.5, 1.0],
                                     validation_fraction=0.25, patience=3, validation_metric="accuracy", seed=2),
}


def fit_equality(backend):
    ok = True
    print(f"2. fit equality (10 epochs, float64, device against NumPy, relative <= {FIT_TOL:g})")
    rng = np.random.default_rng(0)
    X, y, w = rng.standard_normal((64, 12)), rng.integers(0, 4, 64), rng.random(64)
    params = model.init_params(12, 16, 4, seed=1)
    for name, options in FIT_CASES.items():
        options = dict(options)
        weights = w if options.pop("weighted", False) else None
        ref, ref_history = train.fit(params, X, y, epochs=10, sample_weight=weights, **options)
        got, history = train.fit(params, backend.asarray(X), backend.asarray(y), epochs=10,
                                 sample_weight=None if weights is None else backend.asarray(weights), **options)
        weights_error = max(normwise(W, W_ref) for W, W_ref in zip(got, ref))
        loss_error = max(abs(a - b) / abs(b) for a, b in zip(history.loss, ref_history.loss))
        passed = (weights_error <= FIT_TOL and loss_error <= FIT_TOL and len(history) == len(ref_history)
                  and type(got.W1) is type(backend.asarray(X)))
        print(f"   {name:26} weights {weights_error:.1e}  loss {loss_error:.1e}   {'PASS' if passed else 'FAIL'}")
        ok &= passed
    return ok


# ---- 3. step time against PyTorch eager ---------------------------------------------------------

class TorchEager:
    """The same network in PyTorch eager on the backend's device: autograd and torch.optim.SGD."""

    def __init__(self, params, X, y, device):
        import torch
        self.torch = torch
        self.Ws = [torch.asarray(np.array(W), device=device).requires_grad_() for W in params]
        self.X = torch.asarray(np.asarray(X), device=device)
        self.y = torch.asarray(np.asarray(y), device=device)
        self.opt = torch.optim.SGD(self.Ws, lr=LR)

    def step(self):
        torch = self.torch
        W1, W2, W3, W4 = self.Ws
        self.opt.zero_grad()
        s = torch.relu(self.X) @ W1.T + self.X
        t = s @ W2.T
        theta = (torch.relu(t) @ W3.T + t) @ W4.T
        loss = torch.nn.functional.cross_entropy(theta, self.y)
        loss.backward()
        self.opt.step()
        return loss.item()  # one transfer a step, as fit's


def step_times(backend, sizes, steps):
    print(f"3. step time (full batch, median of {steps} steps after 2 untimed; ratio > 1: fit is faster)")
    print(f"   {'N':>5} {'D':>5} {'M':>5} {'C':>3} {'dtype':8} {'fit step':>11} {'torch eager':>12} {'torch/fit':>10}")
    have_torch = True
    try:
        import torch  # noqa: F401
    except ImportError:
        have_torch = False
    rows = []
    for N, D, M, C in sizes:
        for dtype in ("float32", "float64"):
            rng = np.random.default_rng(0)
            X = rng.standard_normal((N, D)).astype(dtype)
            y = rng.integers(0, C, N)
            params = model.init_params(D, M, C, seed=0, dtype=dtype)
            Xd, yd = backend.asarray(X), backend.asarray(y)
            marks = []

            def callback(state, marks=marks):
                backend.sync()
                marks.append(time.perf_counter())

            train.fit(params, Xd, yd, lr=LR, epochs=steps + 3, callback=callback)
            fit_times = np.diff(marks)[1:]  # epoch k's step between callbacks k-1 and k; the first two untimed
            fit_s = statistics.median(fit_times)
            torch_s = math.nan
            if have_torch:
                device = backend.device if backend.name == "torch" else "cuda"
                eager = TorchEager(params, X, y, device)
                eager.step(), eager.step()
                times = []
                for _ in range(steps):
                    backend.sync()
                    start = time.perf_counter()
                    eager.step()
                    backend.sync()
                    times.append(time.perf_counter() - start)
                torch_s = statistics.median(times)
            ratio = torch_s / fit_s
            rows.append((N, D, M, C, dtype, fit_s, torch_s))
            torch_text = f"{torch_s * 1e3:9.3f}ms" if have_torch else "not installed"
            print(f"   {N:>5} {D:>5} {M:>5} {C:>3} {dtype:8} {fit_s * 1e3:8.3f}ms {torch_text:>12} {ratio:9.2f}x",
                  flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-self-test", action="store_true",
                        help="run the script's own logic on torch CPU at small sizes (no GPU needed)")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per size (default 10; self-test 3)")
    args = parser.parse_args(argv)
    backend = find_backend(args.cpu_self_test)
    if backend is None:
        print("no GPU: neither torch nor CuPy sees a CUDA device; nothing to check (run with --cpu-self-test "
              "to exercise this script on torch CPU)")
        return 0
    print(f"{backend.describe()}; numpy {np.__version__}; python {platform.python_version()}; "
          f"SCIPY_ARRAY_API={os.environ.get('SCIPY_ARRAY_API', '')}; TF32 off", flush=True)
    started = time.perf_counter()
    ok = gradient_check(backend)
    ok &= fit_equality(backend)
    sizes = SELF_TEST_SIZES if args.cpu_self_test else LARGEST_SIZES
    step_times(backend, sizes, args.steps or (3 if args.cpu_self_test else 10))
    print(f"{'PASS' if ok else 'FAIL'}: checks {'passed' if ok else 'failed'} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
