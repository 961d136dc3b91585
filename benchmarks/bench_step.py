"""One full-batch training step of `fit`, against PyTorch eager, JAX jit, scikit-learn and the roofline.

    python benchmarks/bench_step.py [--quick] [--sizes 0,1 | 64x64x64x10,...] [--dtypes float32]
                                    [--peers torch,jax,sklearn]

For each size (N, D, M, C) and dtype, the contenders take turns, one block of `steps` training steps
each per round, in an order that rotates from round to round; a table gives fit's median step time
and, for each peer, the median over rounds of (peer's time / fit's time) with its min-max spread:
above 1 means fit is faster. Ratios, not absolute times, are the result: on a shared machine the
absolute times drift, the ratios within a round much less. Every block starts after a short sleep
(thread pools that just worked keep spinning for a while) and, below 1e10 FLOPs a step, one untimed
step (caches and thread pools back to speed after the sleep).

- fit: `residual_mlp.fit`, full batch, plain gradient descent. Its steps are timed between two calls
  of its epoch callback, so that one `fit` call (one set of buffers, as in real use) runs every round;
  its first step, which allocates the buffers, is not timed. The time includes everything fit does per
  epoch: the step, the loss, the accuracy, the gradient norm, the history.
- torch: the same network in PyTorch eager, autograd, torch.optim.SGD, as many threads as fit uses
  (its choice for the size, `residual_mlp.threads`); per step zero_grad, forward, cross_entropy,
  backward, step, loss.item().
- jax: the same network and step under jax.jit (params donated), "not installed" when it is not.
  XLA sizes its thread pool by the CPUs the process may use: with fewer BLAS threads than CPUs, the
  whole process is kept on that many CPUs, so that every contender gets the same cores.
- sklearn: MLPClassifier(hidden_layer_sizes=(D, M)), solver "sgd" without momentum, one partial_fit
  epoch at batch size N = one step. The nearest peer, not the same architecture: it has biases and no
  skip connections and no W3: its matrix products come to 2N(2D^2 + 3DM + 3MC) FLOPs a step, ours
  to 2N(2D^2 + 3MD + 3M^2 + 3MC). A second column scales its ratio by ours / its FLOPs (time per
  FLOP), which matters at the large sizes, where W3's M^2 terms are a third of our products.
- roofline: the step's matrix-product FLOPs, 2N(2D^2 + 3MD + 3M^2 + 3MC), over the peak GEMM rate,
  measured in each round on square n x n products (best of 3); the table's "roofline" column is
  (that time) / (fit's time), the fraction of the GEMM peak the whole step attains.

Writes every measurement to benchmarks/results/bench_step.json (or --json PATH).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from residual_mlp import model, train  # noqa: E402
from residual_mlp.threads import blas_threads as fit_threads  # noqa: E402

SIZES = [(64, 64, 64, 10), (256, 64, 128, 10), (1024, 784, 256, 10), (4096, 784, 1024, 10),
         (8192, 2048, 2048, 10)]
DTYPES = ("float32", "float64")
LR = 1e-3
# Seconds of sleep before every timed block: thread pools that just worked (OpenBLAS's, PyTorch's
# OpenMP, XLA's) keep spinning for a while, and would steal the cores from whoever runs next.
SETTLE = 0.2


# ---- the machine ----------------------------------------------------------------------------------

def blas_threads():
    """numpy's BLAS: (number of threads, threadpoolctl's description)."""
    from threadpoolctl import threadpool_info
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
    # numpy's own BLAS first: scipy, torch may bring others
    blas.sort(key=lambda i: "numpy" not in (i.get("filepath") or ""))
    if not blas:
        return os.cpu_count() or 1, {}
    info = blas[0]
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")
    return info["num_threads"], {k: info.get(k) for k in keep}


def same_cores(threads):
    """With fewer BLAS threads than CPUs, keep the process on that many CPUs: JAX sizes its thread
    pool by the CPUs it may use and runs independent products concurrently, so only the affinity
    makes it use as many cores as the others. Threads started later inherit it. Returns the CPUs."""
    cpus = sorted(os.sched_getaffinity(0))
    if threads < len(cpus):
        os.sched_setaffinity(0, cpus[-threads:])
    return sorted(os.sched_getaffinity(0))


def machine():
    """What ran the benchmark: CPU model and cores, numpy's BLAS, library versions, BLAS variables."""
    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        cpu = fields.get("Model name", cpu).strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    threads, blas = blas_threads()
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for name in ("torch", "jax", "sklearn"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            versions[name] = "not installed"
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OPENBLAS", "OMP_", "MKL_", "XLA_", "GOTO")) or k == "BLIS_NUM_THREADS"}
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "blas": blas, "blas_threads": threads,
            "versions": versions, "environment": env}


# ---- timing ---------------------------------------------------------------------------------------

def summarize(values):
    """Median and spread (min, max) of a list of numbers."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": list(values)}


def gemm_rate(A, B, out, repeat=3):
    """Best FLOP rate of the square product A @ B with numpy (its BLAS), in FLOP/s; one warm-up."""
    np.matmul(A, B, out=out)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        np.matmul(A, B, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * A.shape[0] ** 3 / best


def step_flops(N, D, M, C):
    """Matrix-product FLOPs of one training step: forward W1..W4, backward dW4 dr dW3 dp dW2 ds dW1."""
    return 2.0 * N * (2 * D * D + 3 * M * D + 3 * M * M + 3 * M * C)


def sklearn_flops(N, D, M, C):
    """The same for MLPClassifier with hidden layers (D, M): no W3, no gradient for the input."""
    return 2.0 * N * (2 * D * D + 3 * D * M + 3 * M * C)


def data(N, D, C, dtype, seed=0):
    """Gaussian features and labels from a random linear teacher (a learnable problem)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, D)).astype(dtype)                       # (N, D)
    y = (X[:, :min(D, 32)] @ rng.standard_normal((min(D, 32), C))).argmax(axis=1)  # (N,)
    return X, y


class Timer:
    """Block timings of one contender: `run(steps, warm)` returns seconds per step of one block."""

    name = ""

    def run(self, steps, warm):
        time.sleep(SETTLE)
        self.steps(warm)  # untimed: caches and thread pools back to speed after the sleep
        start = time.perf_counter()
        self.steps(steps)
        return (time.perf_counter() - start) / steps


# ---- contenders -----------------------------------------------------------------------------------

class TorchStep(Timer):
    """The seed's network in PyTorch eager: autograd and torch.optim.SGD, full batch."""

    name = "torch"

    def __init__(self, params, X, y, threads, batch_size=None):
        import torch
        torch.set_num_threads(threads)
        self.torch = torch
        self.Ws = [torch.tensor(np.asarray(W), requires_grad=True) for W in params]
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(np.asarray(y, np.int64))
        self.opt = torch.optim.SGD(self.Ws, lr=LR)
        self.batch_size = batch_size

    def loss(self, X, y):
        W1, W2, W3, W4 = self.Ws
        relu = self.torch.relu
        s = relu(X) @ W1.T + X
        t = s @ W2.T
        r = relu(t) @ W3.T + t
        return self.torch.nn.functional.cross_entropy(r @ W4.T, y)

    def step(self, X, y):
        self.opt.zero_grad()
        loss = self.loss(X, y)
        loss.backward()
        self.opt.step()
        return loss.item()

    def steps(self, n):
        for _ in range(n):
            self.step(self.X, self.y)

    def epoch(self):
        """One epoch of shuffled mini-batches (randperm, then index, as a plain PyTorch loop does)."""
        perm = self.torch.randperm(self.X.shape[0])
        for i in range(0, self.X.shape[0], self.batch_size):
            index = perm[i:i + self.batch_size]
            self.step(self.X[index], self.y[index])


class JaxStep(Timer):
    """The same network and gradient-descent step in JAX, jit-compiled, parameters donated."""

    name = "jax"

    def __init__(self, params, X, y, threads):
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        self.jax = jax

        loss = jax_loss()

        def step(Ws, X, y):
            value, grads = jax.value_and_grad(loss)(Ws, X, y)
            return [W - LR * dW for W, dW in zip(Ws, grads)], value

        self.step = jax.jit(step, donate_argnums=0)
        self.Ws = [jnp.asarray(W) for W in params]
        self.X, self.y = jnp.asarray(X), jnp.asarray(np.asarray(y, np.int32))
        self.steps(1)  # compile

    def steps(self, n):
        for _ in range(n):
            self.Ws, value = self.step(self.Ws, self.X, self.y)
        if n:
            value.block_until_ready()


def jax_loss():
    """The network's mean cross-entropy in JAX: loss(Ws, X, y) with Ws = [W1, W2, W3, W4]."""
    import jax
    import jax.numpy as jnp

    def loss(Ws, X, y):
        W1, W2, W3, W4 = Ws
        s = jax.nn.relu(X) @ W1.T + X
        t = s @ W2.T
        r = jax.nn.relu(t) @ W3.T + t
        log_y_hat = jax.nn.log_softmax(r @ W4.T)
        return -jnp.mean(jnp.take_along_axis(log_y_hat, y[:, None], axis=1))

    return loss


class SklearnStep(Timer):
    """MLPClassifier with hidden layers (D, M): one partial_fit epoch at batch size N is one step."""

    name = "sklearn"

    def __init__(self, X, y, D, M, batch_size=None, shuffle=False):
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        self.X, self.y = X, y
        self.net = MLPClassifier(hidden_layer_sizes=(D, M), solver="sgd", momentum=0.0, alpha=0.0,
                                 learning_rate_init=LR, batch_size=batch_size or X.shape[0],
                                 shuffle=shuffle, random_state=0)
        self.net.partial_fit(X, y, classes=np.unique(y))

    def steps(self, n):
        for _ in range(n):
            self.net.partial_fit(self.X, self.y)


class GemmPeak(Timer):
    """The roofline's reference: the best rate of an n x n x n product, measured in every round."""

    name = "gemm"

    def __init__(self, dtype, n):
        rng = np.random.default_rng(0)
        self.A, self.B = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))  # (n, n)
        self.out = np.empty((n, n), dtype)
        self.rates = []

    def run(self, steps, warm):
        time.sleep(SETTLE)
        self.rates.append(gemm_rate(self.A, self.B, self.out))
        return 0.0


def interleaved_fit(fit_kwargs, others, rounds, steps, warm):
    """Run `fit`, and in its epoch callback the other contenders, round after round.

    fit's epochs: one to allocate its buffers, then per round `warm` untimed and `steps` timed ones.
    At the start of every round the callback runs one block of each other contender, in an order
    that rotates, then sleeps SETTLE seconds. fit's blocks are timed between callbacks, so the others'
    time never counts as fit's. Returns {name: [seconds per step, one per round]}.
    """
    times = {"fit": []}
    times.update({c.name: [] for c in others})
    period = warm + steps
    since = [None]

    def callback(state):
        now = time.perf_counter()
        offset = (state.epoch - 1) % period
        if offset == 0:
            if state.epoch > 1:
                times["fit"].append((now - since[0]) / steps)
            done = len(times["fit"])
            if done < rounds:
                k = done % len(others) if others else 0
                for contender in others[k:] + others[:k]:
                    times[contender.name].append(contender.run(steps, warm))
                time.sleep(SETTLE)
        if offset == warm:
            since[0] = time.perf_counter()

    train.fit(epochs=1 + rounds * period, callback=callback, **fit_kwargs)
    return times


# ---- the benchmark --------------------------------------------------------------------------------

def plan(N, D, M, quick):
    """(rounds, steps per block, untimed steps before a block) for a size: blocks of tens of
    milliseconds at least; no untimed step where a step takes seconds."""
    flops = step_flops(N, D, M, 10)
    if flops > 1e11:
        return (2, 1, 0) if quick else (3, 1, 0)
    if flops > 1e10:
        return (3, 1, 0) if quick else (5, 1, 0)
    steps = int(min(200, max(1, 3e8 // flops)))
    return (5, max(1, steps // 4), 1) if quick else (9, steps, 1)


def bench_size(size, dtype, threads, quick, peers):
    N, D, M, C = size
    X, y = data(N, D, C, dtype)
    params = model.init_params(D, M, C, seed=0, dtype=dtype)
    rounds, steps, warm = plan(N, D, M, quick)
    gemm = GemmPeak(dtype, 1024 if quick else 2048)
    others = []
    if "torch" in peers:  # as many threads as fit chooses for this size (residual_mlp.threads)
        others.append(TorchStep(params, X, y, fit_threads(N, D, M) or threads))
        others[-1].steps(1)  # warm up
    if "jax" in peers:
        others.append(JaxStep(params, X, y, threads))
    if "sklearn" in peers:
        others.append(SklearnStep(X, y, D, M))
    others.append(gemm)
    times = interleaved_fit(dict(params=params, X=X, y=y, lr=LR), others, rounds, steps, warm)
    fit_times = times["fit"]
    result = {"N": N, "D": D, "M": M, "C": C, "dtype": dtype, "rounds": rounds, "steps": steps,
              "untimed_steps": warm,
              "flops": step_flops(N, D, M, C), "seconds": {}, "speedup": {}}
    for name, values in times.items():
        if name == "gemm":
            continue
        result["seconds"][name] = summarize(values)
        if name != "fit":
            result["speedup"][name] = summarize([v / f for v, f in zip(values, fit_times)])
    if "sklearn" in times:  # time per FLOP: MLPClassifier's step does fewer products than ours
        scale = step_flops(N, D, M, C) / sklearn_flops(N, D, M, C)
        result["speedup"]["sklearn_per_flop"] = summarize(
            [v / f * scale for v, f in zip(times["sklearn"], fit_times)])
    result["gemm_flops_per_s"] = summarize(gemm.rates)
    result["roofline"] = summarize([step_flops(N, D, M, C) / rate / f
                                    for rate, f in zip(gemm.rates, fit_times)])
    return result


def fmt_ratio(s):
    return f"{s['median']:5.2f}x ({s['min']:.2f}-{s['max']:.2f})"


def table(results, jax_note):
    names = ("torch", "jax", "sklearn", "sklearn_per_flop")
    head = (f"{'N':>5} {'D':>5} {'M':>5} {'C':>3} {'dtype':8} {'fit step':>10} "
            + " ".join(f"{n.replace('_per_flop', ' per FLOP') + '/fit':>20}" for n in names)
            + f" {'roofline':>17}")
    lines = [head, "-" * len(head)]
    for r in results:
        fit_ms = r["seconds"]["fit"]["median"] * 1e3
        peers = [fmt_ratio(r["speedup"][name]) if name in r["speedup"] else
                 (jax_note if name == "jax" else "not run") for name in names]
        roof = r["roofline"]
        lines.append(f"{r['N']:>5} {r['D']:>5} {r['M']:>5} {r['C']:>3} {r['dtype']:8} {fit_ms:8.3f}ms "
                     + " ".join(f"{p:>20}" for p in peers)
                     + f" {100 * roof['median']:5.1f}% ({100 * roof['min']:.0f}-{100 * roof['max']:.0f})")
    return "\n".join(lines)


def parse_sizes(text):
    if text is None:
        return SIZES
    sizes = []
    for item in text.split(","):
        item = item.strip()
        if "x" in item:
            sizes.append(tuple(int(v) for v in item.split("x")))
        else:
            sizes.append(SIZES[int(item)])
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds and steps, smaller GEMM reference (minutes, not tens)")
    parser.add_argument("--sizes", help="comma-separated indices into the size list (0-4) or NxDxMxC; "
                                        f"default all: {' '.join('x'.join(map(str, s)) for s in SIZES)}")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="default float32,float64")
    parser.add_argument("--peers", default="torch,jax,sklearn", help="default torch,jax,sklearn")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_step.json"))
    args = parser.parse_args(argv)
    cpus = same_cores(blas_threads()[0])  # before anything starts a thread pool
    info = machine()
    info["cpus_used"] = cpus
    threads = info["blas_threads"]
    peers = args.peers.split(",")
    jax_note = "not run"
    if "jax" in peers:
        try:
            import jax  # noqa: F401
        except ImportError:
            peers.remove("jax")
            jax_note = "not installed"
    print(f"{info['cpu']}, {info['logical_cpus']} logical CPUs; numpy BLAS: "
          f"{info['blas'].get('internal_api')} {info['blas'].get('version')} "
          f"({info['blas'].get('architecture')} kernel, {threads} threads); CPUs used {cpus}; "
          f"{', '.join(f'{k} {v}' for k, v in info['versions'].items())}", flush=True)
    results = []
    for size in parse_sizes(args.sizes):
        for dtype in args.dtypes.split(","):
            start = time.perf_counter()
            results.append(bench_size(size, dtype, threads, args.quick, peers))
            print(f"  {'x'.join(map(str, size))} {dtype}: {time.perf_counter() - start:.0f} s",
                  file=sys.stderr, flush=True)
    text = table(results, jax_note)
    print(text)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "command": " ".join(sys.argv), "quick": args.quick,
                               "results": results, "table": text}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
