"""Processes of a process group, from Linux's /proc: for tests that kill a group and check nothing outlived it."""

from __future__ import annotations

from pathlib import Path


def group_members(pgid: int) -> set[int]:
    """Live (non-zombie) processes of process group ``pgid`` (empty where /proc is not Linux's)."""
    pids = set()
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            pids.add(int(entry.name))
    return pids
