"""Read Arrow IPC streams with pyarrow and print them as JSON, for the inspect tests.

Usage: read_arrow_stream.py FILE...

Prints one JSON object on the last line: {FILE: {"schema": [[name, type], ...],
"rows": [...]}} with timestamp values as ms since the epoch (ints); other values as
pyarrow's to_pylist gives them.
"""

import datetime
import json
import sys

import pyarrow as pa
import pyarrow.ipc


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(v):
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(milliseconds=1)
    return v


def main(paths):
    out = {}
    for path in paths:
        with open(path, "rb") as f:
            reader = pa.ipc.open_stream(f)
            table = reader.read_all()
        out[path] = {
            "schema": [[field.name, str(field.type)] for field in table.schema],
            "rows": [
                {k: plain(v) for k, v in row.items()} for row in table.to_pylist()
            ],
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
