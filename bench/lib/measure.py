#!/usr/bin/env python3
"""Run a command and account for its whole process tree.

    measure.py OUT.json -- COMMAND [ARGS...]

Samples /proc every 0.1 s while COMMAND runs and writes to OUT.json:
  wall_s        wall-clock seconds from launch to exit
  start_epoch   launch time (Unix seconds), for time-to-first-row
  cpu_s         user + system CPU seconds of every process of the tree: the
                larger of the kernel's account of the waited-for descendants
                (wait4) and the sum of each process's last sampled time (which
                also counts descendants nobody waited for, like a JVM that a
                Python driver leaves to exit on its own)
  peak_rss_mib  the largest sum of the resident set sizes of all the tree's
                processes at one sample (the JVM included)
  peak_rss_by_name_mib
                each process name's largest resident set at any sample (to
                see who holds the memory)
  status        COMMAND's exit status
Standard streams are inherited. Linux only.
"""
import json
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append((int(name), fields))
    return kids


def tree(root, kids):
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child, fields in kids.get(pid, []):
            out.append((child, fields))
            todo.append(child)
    return out


def sample(root, cpu_seen, by_name):
    kids = children_map()
    rss = 0
    procs = tree(root, kids)
    try:
        with open(f"/proc/{root}/stat") as f:
            stat = f.read()
        procs.append((root, stat[stat.rindex(")") + 2:].split()))
    except OSError:
        pass
    for pid, fields in procs:
        # fields[0] is the state (field 3 of stat): utime 14, stime 15, rss 24
        cpu_seen[pid] = (int(fields[11]) + int(fields[12])) / TICK
        rss += int(fields[21]) * PAGE
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        by_name[name] = max(by_name.get(name, 0), int(fields[21]) * PAGE)
    return rss


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit("usage: measure.py OUT.json -- COMMAND [ARGS...]")
    out = sys.argv[1]
    start = time.time()
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        try:
            os.execvp(sys.argv[3], sys.argv[3:])
        finally:
            os._exit(127)
    cpu_seen, peak, by_name = {}, 0, {}
    status = None
    while status is None:
        peak = max(peak, sample(pid, cpu_seen, by_name))
        done, st, ru = os.wait4(pid, os.WNOHANG)
        if done:
            status, rusage = st, ru
            break
        time.sleep(0.1)
    wall = time.time() - start
    # descendants still running after the root exited (a lingering JVM): follow
    # them until they end, at most 30 s
    deadline = time.time() + 30
    while time.time() < deadline:
        left = [p for p in list(cpu_seen) if p != pid and os.path.exists(f"/proc/{p}")]
        if not left:
            break
        for p in left:
            try:
                with open(f"/proc/{p}/stat") as f:
                    s = f.read()
                fields = s[s.rindex(")") + 2:].split()
                cpu_seen[p] = (int(fields[11]) + int(fields[12])) / TICK
            except OSError:
                pass
        time.sleep(0.1)
    waited = rusage.ru_utime + rusage.ru_stime
    result = {
        "wall_s": round(wall, 3),
        "start_epoch": start,
        "cpu_s": round(max(waited, sum(cpu_seen.values())), 2),
        "peak_rss_mib": round(peak / 1048576, 1),
        "peak_rss_by_name_mib": {k: round(v / 1048576, 1) for k, v in sorted(by_name.items())},
        "status": os.waitstatus_to_exitcode(status),
    }
    with open(out, "w") as f:
        json.dump(result, f)
    sys.exit(0 if result["status"] == 0 else 1)


if __name__ == "__main__":
    main()
