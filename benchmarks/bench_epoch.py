"""One epoch of mini-batch training with `fit`, against PyTorch eager, JAX jit and scikit-learn.

    python benchmarks/bench_epoch.py [--quick] [--sizes 64x64,784x256] [--batch-sizes 32,128]
                                     [--dtypes float32,float64] [--samples N] [--rounds R]
                                     [--peers torch,jax,jax_scan,sklearn]

N = 10,000 samples (synthetic data), C = 10 classes, two layer sizes: small (D = 64, M = 64), where
per-step overhead decides, and wide (D = 784, M = 256: MNIST's shape), where the products do; batch
sizes 32 and 128, float32 and float64. An epoch includes reshuffling and batching, as each contender
does it:

- fit: `residual_mlp.fit(batch_size=B)`, plain SGD, reshuffled every epoch, with its own choice of
  BLAS threads (`residual_mlp.threads`, once per call); epochs are timed between two calls of its
  epoch callback, so that one `fit` call runs every round, as in bench_step.py. The time includes
  everything fit does per step (loss, accuracy, gradient norm, the finiteness check) and per epoch.
- torch: a plain PyTorch eager loop: randperm, index the batch, zero_grad, forward, cross_entropy,
  backward, torch.optim.SGD step, loss.item(); as many threads as fit's BLAS uses.
- jax: the same network and SGD step under jax.jit, called once per batch from Python as fit calls
  its step: per epoch the same permutation as fit's (numpy, seeded by (seed, epoch)), the shuffled
  rows gathered once on the device, each full batch cut from them inside the jitted step
  (lax.dynamic_slice, so one compiled step serves them all), the short last batch by a second jitted
  step; the loss and correct predictions are summed on the device and read once per epoch.
- jax_scan (for information): the whole epoch's full batches as one jitted lax.scan, plus the short
  last batch: what JAX does with no Python between steps at all.
- sklearn: MLPClassifier(hidden_layer_sizes=(D, M)), solver "sgd" without momentum, shuffle=True,
  one partial_fit epoch. Nearest peer, not the same architecture (biases, no skips, no W3), which the
  "per FLOP" column corrects for.

Contenders take turns, one epoch each per round, order rotating; for small epochs (under 1e10 FLOPs)
each timed epoch follows one untimed one. The table gives fit's median epoch, the median over rounds
of (peer's time / fit's time) with its min-max spread (above 1: fit is faster), and fit's share of the
GEMM rate: the epoch's matrix-product FLOPs, 2N(2D^2 + 3MD + 3M^2 + 3MC), over fit's time, as a
fraction of the best rate of an n x n x n numpy product (n = 1024) measured in every round with all
the process's CPUs as BLAS threads. Writes benchmarks/results/bench_epoch.json (or --json PATH).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_step import (  # noqa: E402
    LR,
    ROOT,
    SETTLE,
    GemmPeak,
    SklearnStep,
    Timer,
    TorchStep,
    blas_threads,
    data,
    fmt_ratio,
    gemm_rate,
    interleaved_fit,
    jax_loss,
    machine,
    same_cores,
    sklearn_flops,
    step_flops,
    summarize,
)

from residual_mlp import model, threads  # noqa: E402

C = 10
SIZES = ((64, 64), (784, 256))
SEED = 0
PEERS = ("torch", "jax", "jax_scan", "sklearn")


class TorchEpoch(TorchStep):
    name = "torch"

    def steps(self, n):
        for _ in range(n):
            self.epoch()


class JaxEpoch(Timer):
    """SGD epochs in JAX: a jitted step per batch from Python (scan=False), or one lax.scan (True)."""

    def __init__(self, params, X, y, batch_size, scan=False):
        import jax
        import jax.numpy as jnp
        from jax import lax
        jax.config.update("jax_enable_x64", True)
        self.name = "jax_scan" if scan else "jax"
        loss = jax_loss()
        B, N = batch_size, X.shape[0]
        self.B, self.N, self.full = B, N, (N // B) * B
        self.epochs_done = 0

        def update(Ws, xb, yb, sums):
            value, grads = jax.value_and_grad(loss)(Ws, xb, yb)
            # the same bookkeeping as fit: loss and correct predictions, summed over the epoch
            W1, W2, W3, W4 = Ws
            s = jax.nn.relu(xb) @ W1.T + xb
            t = s @ W2.T
            theta = (jax.nn.relu(t) @ W3.T + t) @ W4.T
            correct = jnp.sum(jnp.argmax(theta, axis=1) == yb, dtype=jnp.int32)
            sums = (sums[0] + value * xb.shape[0], sums[1] + correct)
            return [W - LR * dW for W, dW in zip(Ws, grads)], sums

        def step(Ws, Xs, ys, i, sums):  # one full batch, cut inside the compiled step
            xb, yb = lax.dynamic_slice_in_dim(Xs, i, B), lax.dynamic_slice_in_dim(ys, i, B)
            return update(Ws, xb, yb, sums)

        def tail(Ws, Xs, ys, sums):  # the short last batch
            return update(Ws, Xs[self.full:], ys[self.full:], sums)

        def epoch_scan(Ws, Xs, ys, sums):
            xs = Xs[:self.full].reshape(N // B, B, -1)
            yb = ys[:self.full].reshape(N // B, B)

            def body(carry, batch):
                return update(carry[0], batch[0], batch[1], carry[1]), None

            (Ws, sums), _ = lax.scan(body, (Ws, sums), (xs, yb))
            return Ws, sums

        self.shuffled = jax.jit(lambda X, y, order: (jnp.take(X, order, axis=0), jnp.take(y, order)))
        self.step = jax.jit(step, donate_argnums=0)
        self.tail = jax.jit(tail, donate_argnums=0)
        self.epoch_scan = jax.jit(epoch_scan, donate_argnums=0)
        self.scan = scan
        self.jnp = jnp
        self.Ws = [jnp.asarray(W) for W in params]
        self.X, self.y = jnp.asarray(X), jnp.asarray(np.asarray(y, np.int32))
        self.steps(1)  # compile

    def epoch(self):
        order = np.random.default_rng([SEED, self.epochs_done]).permutation(self.N)  # fit's shuffling
        self.epochs_done += 1
        Xs, ys = self.shuffled(self.X, self.y, order)
        sums = (self.jnp.zeros((), self.X.dtype), self.jnp.zeros((), self.jnp.int32))
        Ws = self.Ws
        if self.scan:
            Ws, sums = self.epoch_scan(Ws, Xs, ys, sums)
        else:
            for i in range(0, self.full, self.B):
                Ws, sums = self.step(Ws, Xs, ys, i, sums)
        if self.full < self.N:
            Ws, sums = self.tail(Ws, Xs, ys, sums)
        self.Ws = Ws
        return float(sums[0]) / self.N, int(sums[1]) / self.N  # waits for the epoch to finish

    def steps(self, n):
        for _ in range(n):
            self.epoch()


class FullGemm(GemmPeak):
    """GemmPeak with all the process's CPUs as BLAS threads, whatever fit set for its own call."""

    def __init__(self, dtype, n, cpus):
        super().__init__(dtype, n)
        self.cpus = cpus

    def run(self, steps, warm):
        from threadpoolctl import threadpool_limits
        time.sleep(SETTLE)
        with threadpool_limits(limits=self.cpus, user_api="blas"):
            self.rates.append(gemm_rate(self.A, self.B, self.out))
        return 0.0


def bench(N, D, M, B, dtype, rounds, gemm_n, peers, cpus):
    X, y = data(N, D, C, dtype)
    params = model.init_params(D, M, C, seed=0, dtype=dtype)
    fit_threads = threads.blas_threads(B, D, M) or blas_threads()[0]  # what fit will choose
    others = []
    if "torch" in peers:
        torch_loop = TorchEpoch(params, X, y, fit_threads, batch_size=B)
        torch_loop.step(torch_loop.X[:B], torch_loop.y[:B])  # warm up
        others.append(torch_loop)
    for name in ("jax", "jax_scan"):
        if name in peers:
            others.append(JaxEpoch(params, X, y, B, scan=name == "jax_scan"))
    if "sklearn" in peers:
        others.append(SklearnStep(X, y, D, M, batch_size=B, shuffle=True))
    gemm = FullGemm(dtype, gemm_n, cpus)
    others.append(gemm)
    flops = step_flops(N, D, M, C)  # the batches' products add up to the full batch's
    warm = 1 if flops < 1e10 else 0
    times = interleaved_fit(dict(params=params, X=X, y=y, lr=LR, batch_size=B, seed=SEED),
                            others, rounds, steps=1, warm=warm)
    result = {"N": N, "D": D, "M": M, "C": C, "batch_size": B, "dtype": dtype, "rounds": rounds,
              "untimed_epochs": warm, "fit_threads": fit_threads, "flops": flops, "seconds": {},
              "speedup": {}}
    for name, values in times.items():
        if name == "gemm":
            continue
        result["seconds"][name] = summarize(values)
        if name != "fit":
            result["speedup"][name] = summarize([v / f for v, f in zip(values, times["fit"])])
    if "sklearn" in times:
        scale = flops / sklearn_flops(N, D, M, C)  # MLPClassifier does fewer products (no W3)
        result["speedup"]["sklearn_per_flop"] = summarize(
            [v / f * scale for v, f in zip(times["sklearn"], times["fit"])])
    result["gemm_flops_per_s"] = summarize(gemm.rates)
    result["gemm_share"] = summarize([flops / rate / f for rate, f in zip(gemm.rates, times["fit"])])
    return result


def table(results, peers):
    names = [p for p in PEERS if p in peers] + (["sklearn_per_flop"] if "sklearn" in peers else [])
    head = (f"{'D':>4} {'M':>4} {'batch':>5} {'dtype':8} {'thr':>3} {'fit epoch':>10} "
            + " ".join(f"{n.replace('_per_flop', ' per FLOP') + '/fit':>20}" for n in names)
            + f" {'GEMM rate':>10} {'fit share of it':>16}")
    lines = [head, "-" * len(head)]
    for r in results:
        share = r["gemm_share"]
        lines.append(f"{r['D']:>4} {r['M']:>4} {r['batch_size']:>5} {r['dtype']:8} {r['fit_threads']:>3} "
                     f"{r['seconds']['fit']['median'] * 1e3:8.1f}ms "
                     + " ".join(f"{fmt_ratio(r['speedup'][n]):>20}" for n in names)
                     + f" {r['gemm_flops_per_s']['median'] / 1e9:6.0f} GF/s"
                     + f" {100 * share['median']:5.1f}% ({100 * share['min']:.0f}-{100 * share['max']:.0f})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds, 5,000 samples")
    parser.add_argument("--samples", type=int, help="number of samples N (default 10000; quick 5000)")
    parser.add_argument("--sizes", default=",".join(f"{d}x{m}" for d, m in SIZES), help="DxM,...")
    parser.add_argument("--batch-sizes", default="32,128")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--rounds", type=int, help="default 5 (quick 3)")
    parser.add_argument("--peers", default=",".join(PEERS), help=f"default {','.join(PEERS)}")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_epoch.json"))
    args = parser.parse_args(argv)
    N = args.samples or (5_000 if args.quick else 10_000)
    rounds = args.rounds or (3 if args.quick else 5)
    peers = args.peers.split(",")
    if any(p.startswith("jax") for p in peers):
        try:
            import jax  # noqa: F401
        except ImportError:
            print("jax is not installed: its columns are left out (pip install -e '.[bench]')", file=sys.stderr)
            peers = [p for p in peers if not p.startswith("jax")]
    if any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")):
        same_cores(blas_threads()[0])  # a thread count set by hand: every contender on that many CPUs
    cpus = sorted(os.sched_getaffinity(0))
    info = machine()
    info["cpus_used"] = cpus
    print(f"{info['cpu']}, {info['logical_cpus']} logical CPUs; numpy BLAS: "
          f"{info['blas'].get('internal_api')} {info['blas'].get('version')} "
          f"({info['blas'].get('architecture')} kernel); CPUs used {cpus}; OPENBLAS_CORETYPE "
          f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')}; "
          f"{', '.join(f'{k} {v}' for k, v in info['versions'].items())}; N = {N}, {rounds} rounds",
          flush=True)
    results = []
    for size in args.sizes.split(","):
        D, M = (int(v) for v in size.split("x"))
        for B in (int(b) for b in args.batch_sizes.split(",")):
            for dtype in args.dtypes.split(","):
                start = time.perf_counter()
                results.append(bench(N, D, M, B, dtype, rounds, 1024, peers, len(cpus)))
                print(f"  {D}x{M} batch {B} {dtype}: {time.perf_counter() - start:.0f} s",
                      file=sys.stderr, flush=True)
    text = table(results, peers)
    print(text)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "command": " ".join(sys.argv), "quick": args.quick,
                               "results": results, "table": text}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
