"""Small harness shared by the benchmarks: run a job in a fresh process, measure it.

Each measured job runs in its own Python process, so peak memory (``ru_maxrss``) belongs
to that job alone. The child loads its inputs first and reports the resident size then,
so both the total peak and the job's own increment are known.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass


@dataclass
class Measurement:
    """Wall time and memory of one job."""

    name: str
    seconds: float
    peak_mb: float
    increment_mb: float
    result: dict[str, object]


_CHILD = """
import json, resource, time, sys
def _rss_mb():
    with open('/proc/self/status') as fh:
        for line in fh:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return 0.0
{setup}
base = _rss_mb()
t0 = time.perf_counter()
result = job()
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print('__RESULT__' + json.dumps({{'seconds': seconds, 'peak_mb': peak,
      'increment_mb': peak - base, 'result': result}}))
"""


def measure(
    name: str, setup: str, *, pythonpath: str | None = None, timeout: float | None = None
) -> Measurement:
    """Run ``setup`` (which must define ``job()``) in a child process and measure ``job``.

    ``pythonpath`` puts another source tree first on the child's path (for example an
    older clvlab checked out with ``git worktree``, to compare with the code before a
    change in the same run). A job still running after ``timeout`` seconds (setup
    included) is stopped: its ``seconds`` is then the limit and its result
    ``{"timed_out": True}``, so the time is a lower bound.
    """
    code = _CHILD.format(setup=textwrap.dedent(setup))
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    # the child leads its own process group, so a timeout stops its workers too (PyMC's
    # chain processes would otherwise keep the shared cores busy)
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Measurement(name, float(timeout or 0.0), 0.0, 0.0, {"timed_out": True})
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr[-4000:]}")
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("__RESULT__"))
    data = json.loads(line[len("__RESULT__") :])
    return Measurement(name, data["seconds"], data["peak_mb"], data["increment_mb"], data["result"])


def table(rows: list[Measurement], baseline: str) -> str:
    """A Markdown table with ratios against the row named ``baseline``."""
    ref = next(r for r in rows if r.name == baseline)
    lines = [
        "| job | seconds | peak MB | job's own MB | speed-up vs "
        + baseline
        + " | memory vs "
        + baseline
        + " |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.seconds:.2f} | {r.peak_mb:.0f} | {r.increment_mb:.0f} | "
            f"{ref.seconds / r.seconds:.1f}x | {r.increment_mb / max(ref.increment_mb, 1):.2f} |"
        )
    return "\n".join(lines)
