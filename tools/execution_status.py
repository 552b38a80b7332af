"""Execution status of the notebooks: run time and peak memory, measured while they run.

A pytest plugin. ``make test`` loads it (the Makefile exports ``PYTEST_PLUGINS``) and runs
every chapter through nbval, each in a fresh kernel. When a notebook's last cell has run,
and before nbval stops the kernel, the plugin records

- the notebook's run time: from the start of its kernel to the end of its last cell;
- the kernel's peak memory: its high-water mark of resident memory (``VmHWM`` in
  /proc/<pid>/status on Linux, ``peak_wset`` on Windows; elsewhere the resident memory at the
  end), plus that of any process the kernel started and that is still running;
- whether every cell passed, when, at which commit, and a hash of the code cells (so the
  appendix can say when a notebook changed after it was measured),

into ``_build/execution-status.json`` (``BOOK_EXECUTION_STATUS`` overrides the path), merged
with what is there, under a file lock (two xdist workers write it). The book's appendix
"Execution status" renders that file. A notebook whose kernel exceeds 1.5 GB
(``BOOK_MEMORY_LIMIT_BYTES`` overrides it, for tests of this plugin) fails its last cell's
teardown: the limit is a test, not a remark.

``python tools/execution_status.py`` prints the file as a table.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest

LIMIT_BYTES = 1.5e9
_started = {}       # nodeid of a notebook -> perf_counter at its first cell's setup
_failed = set()     # nodeids of notebooks with a failed cell


def status_path(root):
    return Path(os.environ.get("BOOK_EXECUTION_STATUS") or Path(root) / "_build" /
                "execution-status.json")


def code_sha256(path):
    """A hash of a notebook's code cells (what execution depends on)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return hashlib.sha256(json.dumps(code).encode()).hexdigest()


def peak_rss(pid):
    """(bytes, how) for a process and its live children: the high-water mark if the system
    keeps one, else the current resident memory."""
    total, how = 0, "peak"
    pids = [pid]
    try:
        import psutil
        pids += [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except Exception:  # noqa: BLE001 - psutil is optional, the process may be gone
        pass
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.is_file():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) * 1024
            continue
        try:
            import psutil
            info = psutil.Process(p).memory_info()
            if hasattr(info, "peak_wset"):
                total += info.peak_wset
            else:
                total, how = total + info.rss, "at end"
        except Exception:  # noqa: BLE001
            return None, "unavailable"
    return total, how


def _is_notebook_cell(item):
    return type(item).__name__ == "IPyNbCell"


def _kernel_pid(notebook):
    kernel = getattr(notebook, "kernel", None)
    km = getattr(kernel, "km", None)
    provisioner = getattr(km, "provisioner", None)
    pid = getattr(provisioner, "pid", None)
    if pid is None:
        process = getattr(provisioner, "process", None)
        pid = getattr(process, "pid", None)
    return pid


def _commit(root):
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                             capture_output=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, text=True, capture_output=True, timeout=10)
        return out.stdout.strip() + ("+local changes" if dirty.stdout.strip() else "")
    except Exception:  # noqa: BLE001
        return "unknown"


def record(root, name, entry):
    """Merge one notebook's entry into the JSON file, under an exclusive lock."""
    path = status_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_suffix(".lock")
    with open(lock, "w") as handle:
        try:
            import fcntl
            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:      # Windows: one writer at a time is likely enough
            pass
        data = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                data = {}
        data.setdefault("notebooks", {})[name] = entry
        data.update(
            command="pytest (nbval; make test)",
            commit=_commit(root),
            machine={"cpus": os.cpu_count(), "python": platform.python_version(),
                     "platform": platform.platform(terse=True)},
            workers=int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")),
        )
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if _is_notebook_cell(item):
        _started.setdefault(item.parent.nodeid, time.perf_counter())
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if _is_notebook_cell(item) and report.failed:
        _failed.add(item.parent.nodeid)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    over = None
    if _is_notebook_cell(item) and (nextitem is None or nextitem.parent is not item.parent):
        notebook = item.parent
        seconds = time.perf_counter() - _started.pop(notebook.nodeid, time.perf_counter())
        pid = _kernel_pid(notebook)
        peak, how = peak_rss(pid) if pid else (None, "unavailable")
        root = Path(item.config.rootpath)
        path = Path(notebook.path)
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        record(root, name, {
            "seconds": round(seconds, 2),
            "peak_rss_bytes": peak,
            "peak_measure": how,
            "outcome": "failed" if notebook.nodeid in _failed else "passed",
            "finished": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%d %H:%M UTC"),
            "code_sha256": code_sha256(path),
        })
        limit = float(os.environ.get("BOOK_MEMORY_LIMIT_BYTES", LIMIT_BYTES))
        if peak is not None and peak > limit:
            over = (f"{name}: its kernel used {peak / 2**20:,.0f} MiB at its peak, over the "
                    f"{limit / 2**20:,.0f} MiB limit")
    result = yield          # nbval stops the kernel here
    if over:
        raise AssertionError(over)
    return result


def main():
    root = Path(__file__).resolve().parent.parent
    path = status_path(root)
    if not path.is_file():
        sys.exit(f"{path}: no measurements yet (run make test)")
    data = json.loads(path.read_text(encoding="utf-8"))
    print(f"{path} (commit {data.get('commit')}, {data.get('workers')} at a time)")
    for name, r in sorted(data["notebooks"].items()):
        peak = r["peak_rss_bytes"]
        print(f"{name:45s} {r['seconds']:7.1f} s  "
              f"{peak / 2**20 if peak else float('nan'):7.0f} MiB  {r['outcome']}")


if __name__ == "__main__":
    main()
