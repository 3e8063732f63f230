#!/usr/bin/python3
"""by_dir.py -- per-directory line coverage from gcovr's JSON summary (make coverage).

Usage: by_dir.py SUMMARY.json.  Prints one line per source directory (lines covered,
lines, percent) and the total; gcovr 5.2 reports per file only.
"""
import json
import os
import sys


def main(path):
    with open(path) as f:
        files = json.load(f)["files"]
    dirs = {}
    for fe in files:
        d = os.path.dirname(fe["filename"]) or "."
        cov, tot = dirs.get(d, (0, 0))
        dirs[d] = (cov + fe["line_covered"], tot + fe["line_total"])
    width = max(len(d) for d in dirs) if dirs else 10
    print("%-*s %9s %9s %7s" % (width, "directory", "covered", "lines", "line %"))
    all_cov = all_tot = 0
    for d in sorted(dirs):
        cov, tot = dirs[d]
        all_cov += cov
        all_tot += tot
        print("%-*s %9d %9d %6.1f%%" % (width, d, cov, tot, 100.0 * cov / tot if tot else 0.0))
    print("%-*s %9d %9d %6.1f%%" % (width, "total", all_cov, all_tot, 100.0 * all_cov / all_tot if all_tot else 0.0))


if __name__ == "__main__":
    main(sys.argv[1])
