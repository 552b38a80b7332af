#!/usr/bin/env python
"""nnlib against Keras, and against the machine's own matrix-multiply rate (issue 4).

    .venv/bin/python benchmarks/run.py            # the full run (make bench), writes results.md
    .venv/bin/python benchmarks/run.py --quick    # a smoke run: few epochs, 2 rounds, not written

Each case is timed as interleaved rounds (nnlib, Keras[, floor, 2048² matmul], then again …)
after a warm-up; the table gives medians with the spread (min–max) over the rounds, and the
headline ratios are the medians of the per-round ratios. Peak memory is measured afterwards,
one child process per framework per case (``--child``). See benchmarks/README.md.
"""
import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")      # quiet TensorFlow (CONVENTIONS: Testing)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cases as cases_module   # noqa: E402
import machine                 # noqa: E402

TARGETS = {"1": 300.0, "2": 20.0, "3": 2.0}   # Keras time / nnlib time, at least
FLOOR_TARGET = 0.85                           # floor time / nnlib time, at least (case 3)
BARE_TARGET = 0.90                            # bare loop time / nnlib time, aimed at (case 2)
DEFAULT_ROUNDS = {"1": 3, "2": 7, "3": 7}     # case 1: Keras alone takes ~25–60 s a run


# ------------------------------------------------------------------------- formatting
def seconds(t):
    if t >= 1:
        return f"{t:.2f} s"
    if t >= 1e-3:
        return f"{t * 1e3:.1f} ms"
    return f"{t * 1e6:.0f} µs"


def spread(values, fmt):
    """'median (min–max)'."""
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def ratio(x):
    return f"{x:,.0f}×" if x >= 100 else (f"{x:.1f}×" if x >= 10 else f"{x:.2f}×")


def percent(x):
    return f"{100 * x:.0f} %"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def log(*args):
    print(*args, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------- timing
def time_case(case, rounds):
    """Warm up, then ``rounds`` interleaved rounds; returns a dict of results."""
    import keras  # noqa: F401  (imported here, outside every timed region)

    X, y = case.data()
    load_before = machine.load_average()
    runners = [cases_module.NnlibRunner(case, X, y)]
    weights = runners[0].weights
    keras_runner = cases_module.KerasRunner(case, X, y, weights)
    runners.append(keras_runner)
    if case.bare:
        runners.append(cases_module.BareLoopRunner(case, X, y, weights))
    if case.floor:
        runners.append(cases_module.FloorRunner(case, X, y, weights))
        runners.append(cases_module.SquareMatmulRunner())
    for runner in runners:
        runner.warm_up()
    times = {runner.label: [] for runner in runners}
    for r in range(rounds):
        for runner in runners:
            times[runner.label].append(runner.run())
        log(f"  case {case.key} round {r + 1}/{rounds}: "
            + ", ".join(f"{k} {seconds(v[-1])}" for k, v in times.items()))
    return {"case": case, "times": times, "m": X.shape[0],
            "build": keras_runner.build_seconds, "first_fit": keras_runner.first_fit_seconds,
            "load": (load_before, machine.load_average())}


# ------------------------------------------------------------------------- memory
def peak_rss_kib():
    """This process's peak resident set so far, KiB: VmHWM from /proc/self/status, which
    starts afresh with the program (``ru_maxrss`` of a child started by fork + exec keeps
    the parent's peak, which would hide everything under TensorFlow's ~1 GiB); where there
    is no /proc, ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss          # KiB on Linux


def child(case_key, framework, quick):
    """Run one case once with one framework; print the peak resident memory it added (JSON)."""
    case = cases_module.CASES[case_key]
    case = cases_module.quick(case) if quick else case
    X, y = case.data()
    weights = cases_module.nnlib_model(case).get_weights()
    if framework == "keras":
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
    baseline = peak_rss_kib()
    if framework == "nnlib":
        runner = cases_module.NnlibRunner(case, X, y)
    else:
        runner = cases_module.KerasRunner(case, X, y, weights)
    runner.run()
    peak = peak_rss_kib()
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "added_kib": peak - baseline}))


def measure_memory(case_key, framework, quick):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", case_key, framework]
    if quick:
        cmd.append("--quick")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ.copy())
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------- report
def report(results, memory, info, args, started, finished):
    lines = []
    add = lines.append
    load_start, load_end = info["load_start"], info["load_end"]
    add(f"Run {started:%Y-%m-%d %H:%M} – {finished:%H:%M} UTC{' (--quick: smoke run)' if args.quick else ''}. "
        f"Machine: {info['cpu']}, {info['cores']} cores; load average (1, 5, 15 min) "
        f"{', '.join(f'{x:.2f}' for x in load_start)} at the start, "
        f"{', '.join(f'{x:.2f}' for x in load_end)} at the end.")
    v = info["versions"]
    add(f"Python {v['python']}, numpy {v['numpy']}, TensorFlow {v.get('tensorflow', '-')}, "
        f"Keras {v.get('keras', '-')}, nnlib {v['nnlib']}. "
        "BLAS: " + "; ".join(f"{b['owner']}'s {b['library']} {b['version']} ({b['kernel']} kernel, "
                               f"{b['threads']} threads)" for b in info["blas"])
        + f". OPENBLAS_* variables: {info['openblas_env'] or 'none set'}. "
        f"TF_ENABLE_ONEDNN_OPTS={info['tf_env']['TF_ENABLE_ONEDNN_OPTS']}.")
    add("")
    add("Times are medians of interleaved rounds (min–max in brackets), warm-up excluded; "
        "ratios are medians of the per-round ratios.")
    add("")
    add("| case | nnlib | Keras | Keras / nnlib | target | met |")
    add("|---|---|---|---|---|---|")
    verdicts = {}
    for res in results:
        case, t = res["case"], res["times"]
        ratios = [k / n for k, n in zip(t["Keras"], t["nnlib"])]
        met = statistics.median(ratios) >= TARGETS[case.key]
        verdicts[case.key] = met
        add(f"| {case.key}. {case.name}, {case.epochs} epochs ({len(t['nnlib'])} rounds) "
            f"| {spread(t['nnlib'], seconds)} | {spread(t['Keras'], seconds)} "
            f"| **{ratio(statistics.median(ratios))}** ({ratio(min(ratios))}–{ratio(max(ratios))}) "
            f"| ≥ {TARGETS[case.key]:g}× | {'yes' if met else 'no'} |")
    for res in [res for res in results if res["case"].bare]:
        case, t = res["case"], res["times"]
        shares = [f / n for f, n in zip(t["bare loop"], t["nnlib"])]
        verdicts["bare"] = statistics.median(shares) >= BARE_TARGET
        add("")
        add(f"Case {case.key} against a bare hand-written NumPy loop of the same network and "
            f"training (buffers allocated once, every operation in place, the loss computed): "
            f"{spread(t['bare loop'], seconds)} against nnlib's {spread(t['nnlib'], seconds)}. "
            f"Bare loop / nnlib: **{percent(statistics.median(shares))}** "
            f"({percent(min(shares))}–{percent(max(shares))}); aim ≥ {percent(BARE_TARGET)}: "
            f"{'met' if verdicts['bare'] else 'not met'}. Keras / bare loop: "
            f"{ratio(statistics.median([k / f for k, f in zip(t['Keras'], t['bare loop'])]))}.")
    floor_results = [res for res in results if res["case"].floor]
    for res in floor_results:
        case, t = res["case"], res["times"]
        flops = cases_module.training_flops(case, res["m"])
        shares = [f / n for f, n in zip(t["floor"], t["nnlib"])]
        met = statistics.median(shares) >= FLOOR_TARGET
        verdicts["floor"] = met
        square = cases_module.SquareMatmulRunner.n
        square_flops = 2 * square ** 3
        add("")
        add(f"Case {case.key} against the machine: {flops / 1e9:.1f} GFLOP of matrix products in "
            f"{case.epochs} epochs (8 products per step: 3 forward, 3 for ∂C/∂W, 2 for ∂C/∂A; "
            f"the first layer passes no gradient back).")
        add("")
        add("| what | time | GFLOP/s |")
        add("|---|---|---|")
        gf = lambda s: f"{flops / s / 1e9:.0f}"  # noqa: E731
        add(f"| nnlib `fit` | {spread(t['nnlib'], seconds)} | {gf(statistics.median(t['nnlib']))} |")
        add(f"| Keras `fit` | {spread(t['Keras'], seconds)} | {gf(statistics.median(t['Keras']))} |")
        add(f"| floor: the same epochs' 8 products per step alone | {spread(t['floor'], seconds)} "
            f"| {gf(statistics.median(t['floor']))} |")
        sq = t["matmul 2048²"]
        add(f"| one {square}×{square} float32 `numpy.matmul`, for context | {spread(sq, seconds)} "
            f"| {square_flops / statistics.median(sq) / 1e9:.0f} |")
        add("")
        add(f"Floor / nnlib: **{percent(statistics.median(shares))}** "
            f"({percent(min(shares))}–{percent(max(shares))}); target ≥ {percent(FLOOR_TARGET)}: "
            f"{'met' if met else 'not met'}. The floor runs at "
            f"{(flops / statistics.median(t['floor'])) / (square_flops / statistics.median(sq)):.0%} "
            f"of the square product's rate.")
    add("")
    add("Keras, timed apart (once per case, before the rounds):")
    add("")
    add("| case | build + compile | first `fit` call, 1 epoch (traces the step) | "
        "of which ≈ tracing |")
    add("|---|---|---|---|")
    for res in results:
        case, t = res["case"], res["times"]
        steady_epoch = statistics.median(t["Keras"]) / case.epochs
        add(f"| {case.key} | {seconds(res['build'])} | {seconds(res['first_fit'])} "
            f"| {seconds(max(res['first_fit'] - steady_epoch, 0))} |")
    if memory:
        add("")
        add("Peak memory added by the run (a child process per framework and case: its peak "
            "resident set minus its own after imports and data):")
        add("")
        add("| case | nnlib | Keras |")
        add("|---|---|---|")
        for key, row in memory.items():
            add(f"| {key} | {mib(row['nnlib']['added_kib'])} | {mib(row['keras']['added_kib'])} |")
    add("")
    add("Raw times, seconds, in the order they ran:")
    add("")
    for res in results:
        for label, values in res["times"].items():
            add(f"- case {res['case'].key}, {label}: " + ", ".join(f"{x:.4g}" for x in values))
        add(f"- case {res['case'].key}, load average before/after: "
            f"{res['load'][0][0]:.2f} / {res['load'][1][0]:.2f}")
    return "\n".join(lines) + "\n", verdicts


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few epochs, 2 rounds; results.md is not written")
    parser.add_argument("--cases", default="1,2,3", help="which cases, e.g. 2,3 (default all)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds per case (default: 3 for case 1, 7 for cases 2 and 3)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--output", default=os.path.join(HERE, "results.md"))
    parser.add_argument("--child", nargs=2, metavar=("CASE", "FRAMEWORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], args.quick)

    started = datetime.datetime.now(datetime.timezone.utc)
    info = machine.describe()
    info["load_start"] = machine.load_average()
    log(f"{info['cpu']}, {info['cores']} cores, load {info['load_start']}")
    log(f"OPENBLAS_* variables: {info['openblas_env'] or 'none set'}; numpy's BLAS: "
        + "; ".join(f"{b['owner']}: {b['library']} {b['version']} {b['kernel']} {b['threads']} threads"
                    for b in info["blas"]))
    keys = [k.strip() for k in args.cases.split(",") if k.strip()]
    results = []
    for key in keys:
        case = cases_module.CASES[key]
        if args.quick:
            case = cases_module.quick(case)
        rounds = args.rounds or (2 if args.quick else DEFAULT_ROUNDS[key])
        log(f"case {key}: {case.describe()}, {rounds} rounds")
        results.append(time_case(case, rounds))
    memory = {}
    if not args.no_memory:
        for key in keys:
            log(f"case {key}: peak memory")
            memory[key] = {fw: measure_memory(key, fw, args.quick) for fw in ("nnlib", "keras")}
    info = {**machine.describe(), "load_start": info["load_start"], "load_end": machine.load_average()}
    finished = datetime.datetime.now(datetime.timezone.utc)
    text, verdicts = report(results, memory, info, args, started, finished)
    print(text)
    if args.quick:
        log("--quick: results not written")
    else:
        command = "make bench" if not sys.argv[1:] else "benchmarks/run.py " + " ".join(sys.argv[1:])
        with open(args.output, "w") as f:
            f.write(f"# Benchmark results\n\nWritten by `{command}` "
                    f"(see benchmarks/README.md).\n\n{text}")
        log(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
