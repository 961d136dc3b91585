"""One epoch of mini-batch training with `fit`, against a PyTorch eager loop and scikit-learn.

    python benchmarks/bench_epoch.py [--quick] [--batch-sizes 32,128] [--dtypes float32] [--samples N]

N = 60,000 samples of D = 784 features (MNIST's shape; synthetic data), M = 256, C = 10, at batch
sizes 32 and 128. An epoch includes reshuffling and batching, as each contender does it:

- fit: `residual_mlp.fit(batch_size=B)`, plain SGD, reshuffled every epoch (the rows of each batch
  are gathered into reused buffers); epochs timed between two calls of its epoch callback, so that
  one `fit` call runs every round, as in bench_step.py.
- torch: a plain PyTorch eager loop: randperm, index the batch, zero_grad, forward, cross_entropy,
  backward, torch.optim.SGD step, loss.item(); same number of threads as numpy's BLAS.
- sklearn: MLPClassifier(hidden_layer_sizes=(D, M)), solver "sgd" without momentum, shuffle=True,
  one partial_fit epoch. Nearest peer, not the same architecture (biases, no skips, no W3: about 10%
  fewer FLOPs here, which the "per FLOP" column corrects for).

Contenders take turns, one epoch each per round, order rotating; the table gives medians over
rounds of (peer's time / fit's time) with min-max spread, and the fraction of the square-GEMM peak
(measured in each round) that fit's epoch attains. Writes benchmarks/results/bench_epoch.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_step import (  # noqa: E402
    LR,
    ROOT,
    GemmPeak,
    SklearnStep,
    TorchStep,
    blas_threads,
    data,
    fmt_ratio,
    interleaved_fit,
    machine,
    same_cores,
    sklearn_flops,
    step_flops,
    summarize,
)

from residual_mlp import model  # noqa: E402

D, M, C = 784, 256, 10


class TorchEpoch(TorchStep):
    name = "torch"

    def steps(self, n):
        for _ in range(n):
            self.epoch()


def bench(N, B, dtype, threads, rounds, gemm_n):
    X, y = data(N, D, C, dtype)
    params = model.init_params(D, M, C, seed=0, dtype=dtype)
    gemm = GemmPeak(dtype, gemm_n)
    torch_loop = TorchEpoch(params, X, y, threads, batch_size=B)
    torch_loop.step(torch_loop.X[:B], torch_loop.y[:B])  # warm up
    others = [torch_loop, SklearnStep(X, y, D, M, batch_size=B, shuffle=True), gemm]
    times = interleaved_fit(dict(params=params, X=X, y=y, lr=LR, batch_size=B, seed=0),
                            others, rounds, steps=1, warm=0)
    flops = step_flops(N, D, M, C)  # the batches' products add up to the full batch's
    result = {"N": N, "D": D, "M": M, "C": C, "batch_size": B, "dtype": dtype, "rounds": rounds,
              "flops": flops, "seconds": {}, "speedup": {}}
    for name in ("fit", "torch", "sklearn"):
        result["seconds"][name] = summarize(times[name])
        if name != "fit":
            result["speedup"][name] = summarize([v / f for v, f in zip(times[name], times["fit"])])
    scale = flops / sklearn_flops(N, D, M, C)  # MLPClassifier does fewer products (no W3)
    result["speedup"]["sklearn_per_flop"] = summarize(
        [v / f * scale for v, f in zip(times["sklearn"], times["fit"])])
    result["gemm_flops_per_s"] = summarize(gemm.rates)
    result["roofline"] = summarize([flops / rate / f for rate, f in zip(gemm.rates, times["fit"])])
    return result


def table(results):
    head = (f"{'N':>6} {'batch':>5} {'dtype':8} {'fit epoch':>10} {'torch/fit':>20} "
            f"{'sklearn/fit':>20} {'sklearn per FLOP/fit':>20} {'roofline':>17}")
    lines = [head, "-" * len(head)]
    for r in results:
        roof = r["roofline"]
        lines.append(f"{r['N']:>6} {r['batch_size']:>5} {r['dtype']:8} "
                     f"{r['seconds']['fit']['median']:9.2f}s {fmt_ratio(r['speedup']['torch']):>20} "
                     f"{fmt_ratio(r['speedup']['sklearn']):>20} "
                     f"{fmt_ratio(r['speedup']['sklearn_per_flop']):>20} "
                     f"{100 * roof['median']:5.1f}% ({100 * roof['min']:.0f}-{100 * roof['max']:.0f})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 samples and 3 rounds")
    parser.add_argument("--samples", type=int, help="number of samples N (default 60000; quick 10000)")
    parser.add_argument("--batch-sizes", default="32,128")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--rounds", type=int, help="default 5 (quick 3)")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "bench_epoch.json"))
    args = parser.parse_args(argv)
    N = args.samples or (10_000 if args.quick else 60_000)
    rounds = args.rounds or (3 if args.quick else 5)
    cpus = same_cores(blas_threads()[0])  # before anything starts a thread pool
    info = machine()
    info["cpus_used"] = cpus
    print(f"{info['cpu']}, {info['logical_cpus']} logical CPUs; numpy BLAS: "
          f"{info['blas'].get('internal_api')} {info['blas'].get('version')} "
          f"({info['blas'].get('architecture')} kernel, {info['blas_threads']} threads); CPUs used {cpus}", flush=True)
    results = []
    for B in (int(b) for b in args.batch_sizes.split(",")):
        for dtype in args.dtypes.split(","):
            start = time.perf_counter()
            results.append(bench(N, B, dtype, info["blas_threads"], rounds, 1024 if args.quick else 2048))
            print(f"  batch {B} {dtype}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    text = table(results)
    print(text)
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": info, "command": " ".join(sys.argv), "quick": args.quick,
                               "results": results, "table": text}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
