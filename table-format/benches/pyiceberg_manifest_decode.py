#!/usr/bin/env python3
"""Time pyiceberg decoding a manifest, the way it does during scan planning.

    VENV=$(scripts/interop-venv.sh | tail -1)
    cargo bench -p table-format --bench manifest_decode      # writes the files, runs this
    "$VENV/bin/python" table-format/benches/pyiceberg_manifest_decode.py LIST.avro 5

Reads the manifest list with ``read_manifest_list`` and then, after one warm-up run, times
``ManifestFile.fetch_manifest_entry(io, discard_deleted=False)`` on its first manifest (Avro
decoding with pyiceberg's Cython decoder, plus its inheritance from the manifest list).
The file is local, so I/O is the page cache.
Prints one JSON line:
  {"peer":"pyiceberg-0.12","entries":N,"median_s":..,"entries_per_s":..}
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import pyiceberg
from pyiceberg.io.pyarrow import PyArrowFileIO
from pyiceberg.manifest import read_manifest_list


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest_list", help="manifest list whose first manifest is timed")
    ap.add_argument("iterations", nargs="?", type=int, default=5)
    args = ap.parse_args()
    if args.iterations < 1:
        ap.error("iterations must be >= 1")

    io = PyArrowFileIO()
    manifest = list(read_manifest_list(io.new_input(args.manifest_list)))[0]
    entries = manifest.fetch_manifest_entry(io, discard_deleted=False)
    n = len(entries)
    times = []
    for _ in range(args.iterations):
        t = time.perf_counter()
        manifest.fetch_manifest_entry(io, discard_deleted=False)
        times.append(time.perf_counter() - t)
    median = statistics.median(times)
    print(
        json.dumps(
            {
                "peer": f"pyiceberg-{pyiceberg.__version__}",
                "entries": n,
                "median_s": median,
                "entries_per_s": n / median,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
