"""pyiceberg 0.12's plan_files on a table, for benches/scan_planning.rs.

usage: pyiceberg_plan.py METADATA (selective|full) DAY
Prints {"secs", "files", "peak_rss_mb"}; the selective filter is the same one-day ts range.
"""

import datetime as dt
import json
import resource
import sys
import time

from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan
from pyiceberg.table import StaticTable

metadata, mode, day = sys.argv[1], sys.argv[2], int(sys.argv[3])
tbl = StaticTable.from_metadata(metadata)
scan = tbl.scan()
if mode == "selective":
    start = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=day)
    end = start + dt.timedelta(days=1)
    scan = tbl.scan(row_filter=And(GreaterThanOrEqual("ts", start.isoformat()), LessThan("ts", end.isoformat())))
t = time.perf_counter()
n = sum(1 for _ in scan.plan_files())
secs = time.perf_counter() - t
print(json.dumps({"secs": secs, "files": n, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
