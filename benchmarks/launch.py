"""Run a command and print its wall time, CPU time, peak RSS and exit code as JSON (one line on stdout).

Peak RSS on Linux (``ru_maxrss``) of an exec'd child includes the high-water mark of the process image it
replaced, so a child started directly by a large benchmark process would report at least that process's peak.
This small launcher is started instead; it forks the command, whose figures are then its own.
Usage: ``python -m benchmarks.launch LOGFILE|- CMD ARG...``
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> None:
    log, cmd = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        if log != "-":
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        else:
            fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    print(json.dumps({"wall_s": time.perf_counter() - start, "cpu_s": usage.ru_utime + usage.ru_stime,
                      "peak_rss_mb": usage.ru_maxrss / 1024, "returncode": os.waitstatus_to_exitcode(status)}))


if __name__ == "__main__":
    main()
