"""Rebuild fr_postcodes.csv.gz from the GeoNames French postal code file.

    python bookshops/data/build_postcodes.py /path/to/geonames_postal_FR_all.csv

Keeps plain five-digit codes (CEDEX codes dropped) and lists, for each
postcode, its main town first: the place with the most codes (CEDEX ones
included) in the source, so "24100" is Bergerac and not Lembras.
"""

import csv
import gzip
import io
import sys
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent / "fr_postcodes.csv.gz"


def main(source: str) -> None:
    with open(source, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    weight = Counter((r["place_name"], r["postal_code"][:2]) for r in rows)
    kept, seen = [], set()
    for r in rows:
        code = r["postal_code"].strip()
        if len(code) != 5 or not code.isdigit() or (code, r["place_name"]) in seen:
            continue
        seen.add((code, r["place_name"]))
        kept.append(
            (code, r["place_name"], r["region"], round(float(r["latitude"]), 4), round(float(r["longitude"]), 4))
        )
    kept.sort(key=lambda k: (k[0], -weight[(k[1], k[0][:2])]))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["postcode", "place", "region", "latitude", "longitude"])
    writer.writerows(kept)
    with gzip.GzipFile(OUT, "wb", mtime=0) as out:
        out.write(buf.getvalue().encode())
    print(f"{len(kept)} rows → {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
