#!/usr/bin/env python3
"""Time pyiceberg parsing (and parse + re-serialising) a table metadata JSON file.

    VENV=$(scripts/interop-venv.sh | tail -1)
    "$VENV/bin/python" table-format/benches/data/gen_big_metadata.py /tmp/floe-big-metadata.json
    "$VENV/bin/python" table-format/benches/pyiceberg_parse_metadata.py /tmp/floe-big-metadata.json 20

Reads the file once into memory, then times, after one warm-up run of each:
  * parse:     TableMetadataUtil.parse_raw(bytes)
  * roundtrip: TableMetadataUtil.parse_raw(bytes).model_dump_json()
Prints one JSON line:
  {"peer":"pyiceberg-0.12","bytes":N,"parse_s_per_iter":..,"parse_mb_per_s":..,
   "roundtrip_s_per_iter":..,"roundtrip_mb_per_s":..}
MB is 10^6 bytes of input metadata.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pyiceberg
from pyiceberg.table.metadata import TableMetadataUtil


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", help="metadata JSON file")
    ap.add_argument("iterations", nargs="?", type=int, default=10)
    args = ap.parse_args()
    if args.iterations < 1:
        ap.error("iterations must be >= 1")

    with open(args.path, "rb") as f:
        data = f.read()
    n = len(data)

    def parse() -> object:
        return TableMetadataUtil.parse_raw(data)

    def roundtrip() -> str:
        return TableMetadataUtil.parse_raw(data).model_dump_json()

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        fn()  # warm-up
        start = time.perf_counter()
        for _ in range(args.iterations):
            fn()
        return (time.perf_counter() - start) / args.iterations

    parse_s = timed(parse)
    roundtrip_s = timed(roundtrip)
    major_minor = ".".join(pyiceberg.__version__.split(".")[:2])
    print(
        json.dumps(
            {
                "peer": f"pyiceberg-{major_minor}",
                "bytes": n,
                "parse_s_per_iter": round(parse_s, 6),
                "parse_mb_per_s": round(n / parse_s / 1e6, 3),
                "roundtrip_s_per_iter": round(roundtrip_s, 6),
                "roundtrip_mb_per_s": round(n / roundtrip_s / 1e6, 3),
            },
            separators=(",", ":"),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
