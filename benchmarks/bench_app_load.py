"""The app under load: many concurrent Shiny sessions over the websocket protocol, latency percentiles.

    python benchmarks/bench_app_load.py                  # 25,321 genes x 100 dims, 50 sessions, 60 s
    python benchmarks/bench_app_load.py --quick          # 3,000 genes x 50 dims, 20 sessions, 20 s

The harness is benchmarks/_app_load.py (serve, write_model, run_load; tests/test_app_load.py uses it too): the app runs in a subprocess on
127.0.0.1 only, every answer is checked against GeneVectors, hostile inputs are mixed in (every
fifth query). The peer, measured in the same run against the same server, is ONE session alone:
``ratio = p50(1 session) / p50(N sessions)`` says how much slower an answer gets under load, and
``throughput_ratio`` how many more queries per second the server answers in total. Rows go to
benchmarks/results/app_load.json (app_load_quick.json with --quick). What a pick costs in a real browser
(rendering included) is measured by benchmarks/bench_app_browser.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Bench  # noqa: E402
from _app_load import Oracle, percentiles, run_load, serve, server_rss, write_model  # noqa: E402

from genevec import load_vectors  # noqa: E402


def phase(server, oracle, sessions: int, duration: float, seed: int) -> dict:
    rss0 = server_rss(server)
    cpu0, srv0 = time.process_time(), server_cpu(server)
    t0 = time.perf_counter()
    stats = asyncio.run(run_load(server, oracle, sessions, duration, seed=seed))
    wall = time.perf_counter() - t0
    client_cpu, srv_cpu = time.process_time() - cpu0, server_cpu(server) - srv0
    lat = stats.all_latencies()
    if stats.problems:
        raise SystemExit(f"{len(stats.problems)} problems with {sessions} sessions:\n" + "\n".join(stats.problems[:20]))
    if server.proc.poll() is not None:
        raise SystemExit(f"the server died under load:\n{server.log_text()[-3000:]}")
    init = np.array(stats.latencies.get("init", [0.0]))
    return {"sessions": sessions, "duration_s": duration, "wall_s": round(wall, 2), "queries": int(len(lat)),
            "noops": stats.noops, "hostile": int(sum(stats.hostile_sent.values())),
            "queries_per_s": round(len(lat) / wall, 2),
            **{k: round(v, 4) for k, v in percentiles(lat).items()},
            "session_start_p50_s": round(float(np.median(init)), 4),
            "server_rss_mib_before": round(rss0 / 2**20, 1), "server_rss_mib_after": round(server_rss(server) / 2**20, 1),
            "server_cpu_s": round(srv_cpu, 1), "client_cpu_s": round(client_cpu, 1), "by_kind": stats.by_kind()}


def server_cpu(server) -> float:
    import psutil

    t = psutil.Process(server.proc.pid).cpu_times()
    return t.user + t.system


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3,000 genes, 20 sessions, 20 s")
    ap.add_argument("--sessions", type=int, default=None)
    ap.add_argument("--duration", type=float, default=None, help="seconds of load")
    ap.add_argument("--baseline", type=float, default=None, help="seconds of the 1-session peer")
    ap.add_argument("--genes", type=int, default=None)
    ap.add_argument("--dim", type=int, default=None)
    args = ap.parse_args(argv)
    genes = args.genes or (3_000 if args.quick else 25_321)
    dim = args.dim or (50 if args.quick else 100)
    sessions = args.sessions or (20 if args.quick else 50)
    duration = args.duration or (20.0 if args.quick else 60.0)
    baseline = args.baseline or (10.0 if args.quick else 20.0)
    if not 1 <= sessions <= 500 or not 0 < duration <= 3600:
        raise SystemExit(f"--sessions must be in 1..500 and --duration in (0, 3600], got {sessions}, {duration}")

    bench = Bench("app_load", quick=args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = write_model(folder, n_genes=genes, dim=dim)
        oracle = Oracle(load_vectors(path))
        with serve([path], folder / "server.log") as server:
            print(f"app on {server.url}: {genes:,} genes x {dim}; peer 1 session {baseline:.0f} s, "
                  f"then {sessions} sessions {duration:.0f} s", flush=True)
            one = phase(server, oracle, 1, baseline, seed=1)
            many = phase(server, oracle, sessions, duration, seed=2)
            log = server.log_text()
            if "Traceback" in log or "Error" in log:
                raise SystemExit(f"the server logged errors:\n{log[-3000:]}")
    shape = (genes, dim)
    for row in (one, many):
        bench.record(f"app load, {row['sessions']} session(s)", shape, threads=row["sessions"], **row)
    bench.record("app load, N sessions vs 1", shape, threads=sessions,
                 ratio=round(one["p50_s"] / many["p50_s"], 4),
                 p99_ratio=round(one["p99_s"] / many["p99_s"], 4),
                 throughput_ratio=round(many["queries_per_s"] / one["queries_per_s"], 3),
                 note="ratio < 1: an answer takes 1/ratio times longer with N sessions than alone")
    bench.save()


if __name__ == "__main__":
    main()
