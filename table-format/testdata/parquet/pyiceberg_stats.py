"""Print pyiceberg's own DataFile statistics for a Parquet file, as JSON.

Usage: python pyiceberg_stats.py FILE.parquet SCHEMA.json [PROPERTIES.json]

SCHEMA.json is the Iceberg schema (JSON, spec Appendix C) the file was written with, and
PROPERTIES.json the table properties (an object of strings) that decide the metrics modes.
The statistics are what pyiceberg 0.12 records when it writes a file itself
(pyiceberg.io.pyarrow: compute_statistics_plan, parquet_path_to_id_mapping,
data_file_statistics_from_parquet_metadata), computed from this file's footer. Bounds are
printed in hex; map keys are field ids.
"""

import json
import sys

import pyarrow.parquet as pq
from pyiceberg.io.pyarrow import (
    compute_statistics_plan,
    data_file_statistics_from_parquet_metadata,
    parquet_path_to_id_mapping,
)
from pyiceberg.schema import Schema


def main() -> None:
    path, schema_path = sys.argv[1], sys.argv[2]
    properties = {}
    if len(sys.argv) > 3:
        with open(sys.argv[3]) as f:
            properties = json.load(f)
    with open(schema_path) as f:
        schema = Schema.model_validate_json(f.read())
    metadata = pq.read_metadata(path)
    stats = data_file_statistics_from_parquet_metadata(
        parquet_metadata=metadata,
        stats_columns=compute_statistics_plan(schema, properties),
        parquet_column_mapping=parquet_path_to_id_mapping(schema),
    )
    d = stats.to_serialized_dict()
    out = {
        "record_count": d["record_count"],
        "split_offsets": d["split_offsets"],
    }
    for key in ("column_sizes", "value_counts", "null_value_counts", "nan_value_counts"):
        out[key] = {str(k): v for k, v in d[key].items()}
    for key in ("lower_bounds", "upper_bounds"):
        out[key] = {str(k): v.hex() for k, v in d[key].items()}
    json.dump(out, sys.stdout, sort_keys=True)


if __name__ == "__main__":
    main()
