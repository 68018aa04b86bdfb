"""``make bench``: how a full vision rollback's time and cost grow with the number of hosts.

For N = 1, 5, 10, 20 sandbox vision hosts (its own sandbox, ``.sandbox-bench``), each
measured ``--runs`` times, side by side in this one process run:

1. wall time of a full vision rollback from an enabled state, verification included;
2. wall time of the immediate re-run (all no-ops);
3. wall time of ``python -m rollbook drift`` on the converged hosts;
4. SSH commands per host in each of 1-3, counted at pyinfra's connector (``bench.counted``);
5. the controller's peak memory (the pyinfra process);

beside the physical floor (``bench.floor``: one SSH session per host applying the same end
state with one script). Medians go to ``bench/results.json`` and ``bench/results.png``; the
ratios are printed. Not a test: there are no thresholds here.

    make bench                                  # = python -m bench.run
    python -m bench.run --sizes 1,5 --runs 1    # quicker
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("ROLLBOOK_SANDBOX_DIR", str(REPO / ".sandbox-bench"))

from rollbook.sandbox import hosts as sandbox_hosts
from rollbook.sandbox.s3 import stop_s3

from . import floor  # noqa: E402

INVENTORY = "inventories/sandbox.py"
RESULTS = REPO / "bench" / "results.json"
PLOT = REPO / "bench" / "results.png"


def host_names(count: int) -> dict[str, str]:
    return {f"bench-{i:02d}": "vision_worker" for i in range(1, count + 1)}


def counted_pyinfra(*args: str) -> dict:
    """Run pyinfra's CLI through the counting instrument; wall time, commands per host, peak memory."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "BENCH_COUNTS": out.name}
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bench.counted", *args], cwd=REPO, env=env,
                              capture_output=True, text=True)
        seconds = time.monotonic() - started
        if done.returncode != 0:
            raise SystemExit(f"bench: pyinfra {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        report = json.loads(Path(out.name).read_text())
    return {"seconds": seconds, "commands": report["commands"], "peak_rss_mib": report["peak_rss_mib"]}


def timed_drift() -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "rollbook", "drift", INVENTORY], cwd=REPO, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: drift found or failed on converged hosts:\n{done.stdout}{done.stderr}")
    return time.monotonic() - started


def per_host(run: dict, names) -> float:
    counts = [run["commands"].get(name, 0) for name in names]
    return sum(counts) / len(counts)


def resized(size: int, log):
    """The bench's sandbox holding exactly ``size`` hosts: the missing ones started, the others removed (an
    interrupted bench leaves its hosts; this run measures only its own size)."""
    names = host_names(size)
    if sandbox_hosts.state_path().exists():
        extra = [host.name for host in sandbox_hosts.load().hosts if host.name not in names]
        if extra:
            sandbox_hosts.remove(extra, log=log)
    return sandbox_hosts.up(names, log=log)


def measure(size: int, runs: int, log) -> dict:
    state = resized(size, log)
    names = list(host_names(size))
    samples = {key: [] for key in ("rollback", "rerun", "drift", "floor")}
    commands = {key: [] for key in ("rollback", "rerun", "drift")}
    memory = {key: [] for key in ("rollback", "rerun", "drift")}
    for attempt in range(1, runs + 1):
        counted_pyinfra("-y", INVENTORY, "deploys/vision_enable.py")
        for key, args in (("rollback", ("-y", INVENTORY, "deploys/vision_rollback.py")),
                          ("rerun", ("-y", INVENTORY, "deploys/vision_rollback.py")),
                          ("drift", ("--dry", "--json", INVENTORY, "deploys/converge.py"))):
            run = counted_pyinfra(*args)
            commands[key].append(per_host(run, names))
            memory[key].append(run["peak_rss_mib"])
            samples[key].append(run["seconds"])
        samples["drift"][-1] = timed_drift()  # the operator's command (its pyinfra run was counted above)
        counted_pyinfra("-y", INVENTORY, "deploys/vision_enable.py")
        samples["floor"].append(floor.apply(state.hosts))
        log(f"  N={size} run {attempt}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in samples.items()))
    result = {key: {"median_s": round(statistics.median(values), 2), "runs_s": [round(v, 2) for v in values]}
              for key, values in samples.items()}
    for key in commands:
        result[key]["commands_per_host"] = statistics.median(commands[key])
        result[key]["peak_rss_mib"] = max(memory[key])
    result["floor"]["commands_per_host"] = 1
    return result


def ratios(results: dict) -> dict:
    one = results[min(results)]
    return {size: {"rollback_over_floor": round(r["rollback"]["median_s"] / r["floor"]["median_s"], 2),
                   "rollback_vs_1_host": round(r["rollback"]["median_s"] / one["rollback"]["median_s"], 2),
                   "rerun_vs_1_host": round(r["rerun"]["median_s"] / one["rerun"]["median_s"], 2),
                   "floor_vs_1_host": round(r["floor"]["median_s"] / one["floor"]["median_s"], 2)}
            for size, r in results.items()}


def table(results: dict, ratio: dict) -> str:
    lines = ["hosts  rollback  rerun  drift  floor | rollback/floor  rollback(N)/(1) | cmds/host rollback rerun drift"
             " | peak MiB"]
    for size, r in results.items():
        lines.append(
            f"{size:>5}  {r['rollback']['median_s']:>7.1f}s {r['rerun']['median_s']:>5.1f}s {r['drift']['median_s']:>5.1f}s "
            f"{r['floor']['median_s']:>5.1f}s | {ratio[size]['rollback_over_floor']:>14.2f}  "
            f"{ratio[size]['rollback_vs_1_host']:>15.2f} | {r['rollback']['commands_per_host']:>18.1f} "
            f"{r['rerun']['commands_per_host']:>5.1f} {r['drift']['commands_per_host']:>5.1f} | "
            f"{max(r[k]['peak_rss_mib'] for k in ('rollback', 'rerun', 'drift')):>8.0f}")
    return "\n".join(lines)


def plot(results: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = list(results)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    for key, label in (("rollback", "rollbook rollback (verified)"), ("rerun", "rollbook re-run (no-op)"),
                       ("drift", "rollbook drift"), ("floor", "floor: one script per host")):
        axis.plot(sizes, [results[s][key]["median_s"] for s in sizes], marker="o", label=label)
    axis.set_xlabel("hosts")
    axis.set_ylabel("wall time, median (s)")
    axis.set_title("Full vision rollback: wall time against hosts")
    axis.set_xticks(sizes)
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(PLOT, dpi=110)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,5,10,20", help="host counts, ascending (default 1,5,10,20)")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the bench hosts afterwards")
    args = parser.parse_args(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    results = {}
    try:
        for size in sizes:
            print(f"bench: {size} host(s), {args.runs} run(s)", flush=True)
            results[size] = measure(size, args.runs, log=lambda line: print(line, flush=True))
            RESULTS.with_suffix(".partial.json").write_text(json.dumps(results, indent=2) + "\n")
    finally:
        if not args.keep:
            sandbox_hosts.remove(list(host_names(max(sizes))))
            stop_s3()
    ratio = ratios(results)
    RESULTS.write_text(json.dumps({"sizes": sizes, "runs": args.runs, "cores": os.cpu_count(),
                                   "results": results, "ratios": ratio}, indent=2) + "\n")
    plot(results)
    print(table(results, ratio))
    RESULTS.with_suffix(".partial.json").unlink(missing_ok=True)
    print(f"bench: wrote {RESULTS.relative_to(REPO)} and {PLOT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
