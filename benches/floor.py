"""The Python half of the scale benchmark's floor (benches/scale.sh): read an export's three
CSV files with polars' read_csv, typed (dates as dates, scores and minutes as numbers, the rest
as inferred; ignore_errors turns a value that does not parse into null) and do nothing else.
Each frame is let go before the next file is read, so that the floor's memory is one file's.
Prints rows and seconds per file, then the total."""
import sys
import time

import polars as pl

TYPED = {
    "episodes.csv": {"admit_date": pl.Date, "discharge_date": pl.Date},
    "assessments.csv": {"assessed_on": pl.Date, "score": pl.Float64},
    "attendance.csv": {"session_date": pl.Date, "minutes": pl.Float64},
}

folder = sys.argv[1]
total = time.perf_counter()
for name, schema in TYPED.items():
    t = time.perf_counter()
    frame = pl.read_csv(
        f"{folder}/{name}",
        schema_overrides=schema,
        ignore_errors=True,
    )
    print(f"{name} {frame.height} rows {time.perf_counter() - t:.3f} s")
    del frame
print(f"total {time.perf_counter() - total:.3f} s")
print(f"polars {pl.__version__}")
