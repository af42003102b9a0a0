"""pyiceberg 0.12 appending an Arrow IPC file to a new table, for benches/append_write.rs.

usage: pyiceberg_append.py DATA.arrows WAREHOUSE_DIR
The table has the benchmark's schema, partitioned by day(ts) and bucket(16, id). Only the
append is timed; prints {"secs", "rows", "files"} (median of 3 appends into fresh tables).
"""

import json
import os
import shutil
import statistics
import sys
import time

import pyarrow.ipc as ipc
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import BucketTransform, DayTransform
from pyiceberg.types import DoubleType, LongType, NestedField, StringType, TimestamptzType

data_path, warehouse = sys.argv[1], sys.argv[2]
with open(data_path, "rb") as f:
    data = ipc.open_stream(f).read_all()
schema = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "ts", TimestamptzType(), required=True),
    NestedField(3, "user", StringType(), required=False),
    NestedField(4, "value", DoubleType(), required=False),
)
spec = PartitionSpec(
    PartitionField(source_id=2, field_id=1000, transform=DayTransform(), name="ts_day"),
    PartitionField(source_id=1, field_id=1001, transform=BucketTransform(16), name="id_bucket"),
)
times = []
files = 0
for run in range(3):
    wh = os.path.join(warehouse, f"run-{run}")
    shutil.rmtree(wh, ignore_errors=True)
    os.makedirs(wh)
    catalog = SqlCatalog("bench", uri=f"sqlite:///{wh}/catalog.db", warehouse=f"file://{wh}")
    catalog.create_namespace("bench")
    tbl = catalog.create_table("bench.events", schema=schema, partition_spec=spec)
    t = time.perf_counter()
    tbl.append(data)
    times.append(time.perf_counter() - t)
    files = int(tbl.current_snapshot().summary["added-data-files"])
print(json.dumps({"secs": statistics.median(times), "rows": data.num_rows, "files": files}))
