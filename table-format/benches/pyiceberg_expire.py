"""pyiceberg 0.12 expiring snapshots of a table Floe generated, for benches/expire_snapshots.rs.

usage: pyiceberg_expire.py METADATA_LOCATION OLDER_THAN_MS WORK_DIR
Registers the metadata file in a fresh SqlCatalog (SQLite under WORK_DIR), then times
`tbl.maintenance.expire_snapshots().older_than(..).commit()`: pyiceberg's expiry changes
metadata only (it deletes no files). Load time is reported apart. Prints
{"secs", "load_secs", "expired", "peak_rss_mb"}.
"""

import json
import os
import resource
import sys
import time
from datetime import datetime, timezone

from pyiceberg.catalog.sql import SqlCatalog

metadata, older_than_ms, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
os.makedirs(work, exist_ok=True)
catalog = SqlCatalog("bench", uri=f"sqlite:///{work}/catalog.db", warehouse=f"file://{work}")
catalog.create_namespace("bench")
t = time.perf_counter()
tbl = catalog.register_table("bench.t", metadata)
load_secs = time.perf_counter() - t
before = len(tbl.metadata.snapshots)
t = time.perf_counter()
tbl.maintenance.expire_snapshots().older_than(
    datetime.fromtimestamp(older_than_ms / 1000, tz=timezone.utc)
).commit()
secs = time.perf_counter() - t
tbl = catalog.load_table("bench.t")
expired = before - len(tbl.metadata.snapshots)
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"secs": secs, "load_secs": load_secs, "expired": expired, "peak_rss_mb": peak_mb}))
