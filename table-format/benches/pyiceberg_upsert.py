"""pyiceberg 0.12 running a stream of upserts, for benches/upsert_stream.rs.

usage: pyiceberg_upsert.py METADATA_LOCATION STREAM.arrows COUNT WORK_DIR
Registers the metadata file (a table Floe created and loaded with the base rows) in a fresh
SqlCatalog (SQLite under WORK_DIR), reads the Arrow IPC stream (one record batch per upsert)
before the clock starts, then times `tbl.upsert(batch, join_cols=["id"])` for the first COUNT
batches, one after another. Then times one full read (`scan().to_arrow()`).
Prints {"secs", "upserts", "rows_updated", "rows_inserted", "rows", "read_secs", "per_upsert"}.
"""

import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.ipc as ipc
from pyiceberg.catalog.sql import SqlCatalog

metadata, stream_path, count, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
os.makedirs(work, exist_ok=True)
with open(stream_path, "rb") as f:
    batches = list(ipc.open_stream(f))[:count]
catalog = SqlCatalog("bench", uri=f"sqlite:///{work}/catalog.db", warehouse=f"file://{work}")
catalog.create_namespace("bench")
tbl = catalog.register_table("bench.t", metadata)
updated = inserted = 0
per = []
start = time.perf_counter()
for b in batches:
    t = time.perf_counter()
    res = tbl.upsert(pa.Table.from_batches([b]), join_cols=["id"])
    per.append(time.perf_counter() - t)
    updated += res.rows_updated
    inserted += res.rows_inserted
secs = time.perf_counter() - start
t = time.perf_counter()
rows = tbl.scan().to_arrow().num_rows
read_secs = time.perf_counter() - t
print(
    json.dumps(
        {
            "secs": secs,
            "upserts": len(batches),
            "rows_updated": updated,
            "rows_inserted": inserted,
            "rows": rows,
            "read_secs": read_secs,
            "per_upsert": {"first": per[0] if per else None, "last": per[-1] if per else None},
        }
    )
)
