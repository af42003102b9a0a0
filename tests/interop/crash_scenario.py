"""pyiceberg's side of the catalog-server crash tests (catalog-server/tests/it/crash.rs).

  python crash_scenario.py write  --uri URL --namespace NS --table T --appends K
  python crash_scenario.py verify --uri URL --namespace NS --table T --next-round R

write   creates NS and table T (client commit retries off), then appends rounds 0, 1, ...
        K-1 (ROWS rows each, ids round*100 + 0..ROWS) and stops at the first append that fails
        (the server is meant to die during one of them).
verify  loads T, reads it (rows, snapshot chain), appends round R, and reads it again.

Each prints one line `RESULT <json>` for the Rust test to check, and exits 0 unless the script
itself broke (an append the server fails is a result, not a script error).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback

import pyarrow as pa

ROWS = 5


def catalog(uri: str):
    from pyiceberg.catalog import load_catalog

    return load_catalog("floe", type="rest", uri=uri, warehouse="default")


def batch(round_: int) -> pa.Table:
    ids = [round_ * 100 + i for i in range(ROWS)]
    return pa.table({"id": pa.array(ids, pa.int64()), "round": pa.array([round_] * ROWS, pa.int64())})


def state(tbl) -> dict:
    """What the table holds: pointer, snapshot chain, rows."""
    md = tbl.metadata
    snaps = [{"id": s.snapshot_id, "parent": s.parent_snapshot_id, "seq": s.sequence_number} for s in md.snapshots]
    by_id = {s.snapshot_id: s for s in md.snapshots}
    chain, cur = [], md.current_snapshot_id
    while cur is not None and cur in by_id:
        chain.append(cur)
        cur = by_id[cur].parent_snapshot_id
    ids = sorted(tbl.scan().to_arrow().column("id").to_pylist())
    return {
        "metadata_location": tbl.metadata_location,
        "snapshots": snaps,
        "chain": list(reversed(chain)),
        "last_sequence_number": md.last_sequence_number,
        "ids": ids,
    }


def append(tbl, round_: int) -> dict | None:
    """Append a round; None when it was acknowledged, else the error."""
    try:
        tbl.append(batch(round_))
        return None
    except Exception as e:  # noqa: BLE001 - the test decides what is acceptable
        return {"round": round_, "type": type(e).__name__, "error": str(e)[:500]}


def cmd_write(args) -> dict:
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField

    cat = catalog(args.uri)
    cat.create_namespace(args.namespace)
    schema = Schema(NestedField(1, "id", LongType(), required=False), NestedField(2, "round", LongType(), required=False))
    tbl = cat.create_table((args.namespace, args.table), schema=schema, properties={"commit.retry.num-retries": "0"})
    acked, failed = [], None
    for r in range(args.appends):
        failed = append(tbl, r)
        if failed is not None:
            break
        acked.append(r)
        tbl = cat.load_table((args.namespace, args.table))
    return {"acked": acked, "failed": failed}


def cmd_verify(args) -> dict:
    cat = catalog(args.uri)
    ident = (args.namespace, args.table)
    before = state(cat.load_table(ident))
    failed = append(cat.load_table(ident), args.next_round)
    after = state(cat.load_table(ident))
    return {"before": before, "next_failed": failed, "after": after}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["write", "verify"])
    ap.add_argument("--uri", required=True)
    ap.add_argument("--namespace", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--appends", type=int, default=3)
    ap.add_argument("--next-round", type=int, default=99)
    args = ap.parse_args()
    try:
        out = cmd_write(args) if args.command == "write" else cmd_verify(args)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        return 1
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
