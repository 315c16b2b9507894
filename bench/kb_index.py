"""Knowledge index benchmark: build time, search latency p50/p95 and memory at growing sizes,
and the approximate (IVF) index's recall@10 against exact search.

    .venv-app/bin/python -m bench.kb_index [--sizes 1000,10000,100000,1000000] [--out DIR]

Vectors are synthetic (clustered unit vectors, as real embeddings are clustered by topic), at
the dimension of the default embedder's e5 part (384).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from knowledge.index import VectorIndex, gpu_available


def clustered(n: int, dim: int, rng: np.random.Generator, clusters: int = 200) -> np.ndarray:
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    out = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        out[start:start + m] = centres[rng.integers(0, clusters, m)] + \
            0.6 * rng.normal(size=(m, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def latency(index: VectorIndex, queries: np.ndarray, k: int = 10) -> tuple[float, float]:
    times = []
    for q in queries:
        t0 = time.perf_counter()
        index.search(q[None, :], k)
        times.append(1000 * (time.perf_counter() - t0))
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def run(sizes: list[int], dim: int, n_queries: int, nprobes: list[int]) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for n in sizes:
        data = clustered(n, dim, rng)
        queries = clustered(n_queries, dim, rng)
        ids = np.arange(n, dtype=np.int64)
        t0 = time.perf_counter()
        exact = VectorIndex.build(data, ids, approx_threshold=n + 1)
        exact_build = time.perf_counter() - t0
        p50, p95 = latency(exact, queries)
        _, truth = exact.search(queries, 10)
        row = {"n": n, "dim": dim, "exact_build_s": exact_build, "exact_p50_ms": p50,
               "exact_p95_ms": p95, "gpu": gpu_available()}
        if n >= 10_000:
            t0 = time.perf_counter()
            approx = VectorIndex.build(data, ids, approx_threshold=0)
            row["ivf_build_s"] = time.perf_counter() - t0
            row["ivf"] = []
            for nprobe in nprobes:
                approx.nprobe = nprobe
                p50, p95 = latency(approx, queries)
                _, found = approx.search(queries, 10)
                recall = float(np.mean([len(set(f) & set(t)) / 10
                                        for f, t in zip(found, truth, strict=True)]))
                row["ivf"].append({"nprobe": nprobe, "p50_ms": p50, "p95_ms": p95,
                                   "recall@10": recall})
            del approx
        row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(row)
        print(_line(row), flush=True)
        del exact, data
    return rows


def _line(r: dict) -> str:
    s = (f"n={r['n']:>9,}  exact: build {r['exact_build_s']:6.2f} s  p50 {r['exact_p50_ms']:7.2f}"
         f" ms  p95 {r['exact_p95_ms']:7.2f} ms")
    if "ivf" in r:
        s += f" | IVF build {r['ivf_build_s']:6.1f} s"
        for v in r["ivf"]:
            s += (f" | nprobe {v['nprobe']:>3}: p50 {v['p50_ms']:5.2f} ms"
                  f" recall@10 {v['recall@10']:.3f}")
    return s + f" | peak RSS {r['peak_rss_mb']:,.0f} MB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--nprobe", default="8,16,64,256")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = run([int(s) for s in args.sizes.split(",")], args.dim, args.queries,
               [int(p) for p in args.nprobe.split(",")])
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "kb_index.json").write_text(json.dumps(rows, indent=2))
        (args.out / "kb_index.md").write_text(
            "# Knowledge index benchmark\n\n" + "\n".join(f"- {_line(r)}" for r in rows) + "\n")


if __name__ == "__main__":
    main()
