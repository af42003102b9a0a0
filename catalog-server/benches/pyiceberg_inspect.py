"""pyiceberg 0.12's metadata tables on a table, for benches/inspect_files.rs.

usage: pyiceberg_inspect.py METADATA (files|partitions)
Loads the metadata file as a StaticTable (load time not counted), times
`table.inspect.files()` or `table.inspect.partitions()` (each returns the whole result as a
pyarrow Table) and prints {"secs", "rows", "peak_rss_mb"}.
"""

import json
import resource
import sys
import time

from pyiceberg.table import StaticTable

metadata, kind = sys.argv[1], sys.argv[2]
tbl = StaticTable.from_metadata(metadata)
t = time.perf_counter()
result = getattr(tbl.inspect, kind)()
secs = time.perf_counter() - t
print(
    json.dumps(
        {
            "secs": secs,
            "rows": result.num_rows,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )
)
