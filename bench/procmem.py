"""Peak memory and CPU time of the stack's processes from ``/proc`` (psutil is not installed).
A server may run its work in child processes (Sanic's worker manager in the action server), so
each named process counts with all its descendants."""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from pathlib import Path

PROC = Path("/proc")


def status_kb(pid: int, proc: Path = PROC) -> dict[str, int]:
    """The ``Vm*`` lines of ``/proc/<pid>/status`` in kB (empty when the process is gone)."""
    out = {}
    try:
        text = (proc / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.startswith("Vm") and value.strip().endswith("kB"):
            out[key] = int(value.split()[0])
    return out


def children(proc: Path = PROC) -> dict[int, list[int]]:
    """Parent pid -> child pids, for every process now."""
    kids: dict[int, list[int]] = defaultdict(list)
    for d in proc.iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # the command name (field 2) may hold spaces: the parent pid follows its ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids[ppid].append(int(d.name))
    return kids


def tree(pid: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_s(pid: int, proc: Path = PROC) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    # fields after the command name start at field 3 (state): utime is 14, stime 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(roots: dict[str, int], proc: Path = PROC) -> dict[str, float]:
    """CPU seconds so far of each named process tree."""
    kids = children(proc)
    return {name: sum(cpu_s(p, proc) for p in tree(root, kids)) for name, root in roots.items()}


class MemorySampler:
    """Samples each named process tree every ``interval_s`` in a thread: the peak of the
    tree's summed RSS, and the sum of each process's own high-water mark (VmHWM)."""

    def __init__(self, roots: dict[str, int], interval_s: float = 0.5, proc: Path = PROC):
        self.roots, self.interval_s, self.proc = roots, interval_s, proc
        self.peak_rss_kb: dict[str, int] = dict.fromkeys(roots, 0)
        self.hwm_kb: dict[str, dict[int, int]] = {name: {} for name in roots}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def sample(self) -> None:
        kids = children(self.proc)
        for name, root in self.roots.items():
            rss = 0
            for pid in tree(root, kids):
                vm = status_kb(pid, self.proc)
                rss += vm.get("VmRSS", 0)
                if "VmHWM" in vm:
                    self.hwm_kb[name][pid] = max(self.hwm_kb[name].get(pid, 0), vm["VmHWM"])
            self.peak_rss_kb[name] = max(self.peak_rss_kb[name], rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def start(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.sample()
        return {name: {"peak_rss_mb": round(self.peak_rss_kb[name] / 1024, 1),
                       "hwm_sum_mb": round(sum(self.hwm_kb[name].values()) / 1024, 1),
                       "processes": len(self.hwm_kb[name])}
                for name in self.roots}
