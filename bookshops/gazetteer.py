"""Offline French gazetteer: postcodes and town names → coordinates.

Reads ``data/fr_postcodes.csv.gz`` (GeoNames, CC BY 4.0) once per process,
on first use. Town names are compared without accents, case, hyphens or
apostrophes, and "Saint"/"St", "Sainte"/"Ste" are the same word.
"""

import csv
import functools
import gzip
import io
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "fr_postcodes.csv.gz"

_POSTCODE = re.compile(r"^\d{5}$")
_POSTCODE_ANYWHERE = re.compile(r"(?<!\d)(\d{5})(?!\d)")
_DEPARTMENT_SUFFIX = re.compile(r"^(?P<name>.+?)\s*\((?P<dept>\d{2,3}|2[ab])\)$", re.IGNORECASE)
_WORD_ALIASES = {"saint": "st", "sainte": "ste", "saints": "sts", "saintes": "stes"}


@dataclass(frozen=True)
class Place:
    """A town (or postcode area) with a point to measure distances from."""

    name: str
    postcode: str
    department: str
    region: str
    latitude: float
    longitude: float

    @property
    def label(self) -> str:
        return f"{self.name} ({self.postcode})" if self.postcode else self.name

    @property
    def choice(self) -> str:
        """What to type (or send as ``near=``) to get exactly this place back."""
        return f"{self.name} ({self.department})"


def normalize_name(name: str) -> str:
    """Comparison key of a town name: "Saint-Émilion" and "st emilion" → "st emilion"."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    ascii_name = decomposed.encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_name).split()
    return " ".join(_WORD_ALIASES.get(word, word) for word in words)


def department_of(postcode: str) -> str:
    """The département a postcode belongs to: "24100" → "24", "20200" → "2B", "97400" → "974"."""
    if postcode.startswith("20"):
        return "2A" if postcode < "20200" else "2B"
    if postcode.startswith(("97", "98")):
        return postcode[:3]
    return postcode[:2]


class Gazetteer:
    """Lookups over the shipped postcode table."""

    def __init__(self, rows):
        self.by_postcode: dict[str, list[Place]] = defaultdict(list)
        # (name key, department) → places: one commune may have several postcodes.
        grouped: dict[tuple[str, str], list[Place]] = defaultdict(list)
        for postcode, name, region, latitude, longitude in rows:
            place = Place(name, postcode, department_of(postcode), region, float(latitude), float(longitude))
            self.by_postcode[postcode].append(place)
            grouped[(normalize_name(name), place.department)].append(place)
        self.by_name: dict[str, list[Place]] = defaultdict(list)
        #: Towns by grid cell of CELL_DEGREES, for "the town nearest to a point".
        self.by_cell: dict[tuple[int, int], list[Place]] = defaultdict(list)
        for (key, _department), places in sorted(grouped.items(), key=lambda item: item[0]):
            # The commune's main (lowest) postcode stands for it.
            main = min(places, key=lambda p: p.postcode)
            self.by_name[key].append(main)
            self.by_cell[self.cell(main.latitude, main.longitude)].append(main)

    CELL_DEGREES = 0.5

    @classmethod
    def cell(cls, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / cls.CELL_DEGREES), math.floor(lon / cls.CELL_DEGREES)

    def towns_around(self, lat: float, lon: float, degrees: float) -> list[Place]:
        """Towns in the cells that cover ``degrees`` of latitude (and as many km of longitude) around a point."""
        row, col = self.cell(lat, lon)
        rows = math.ceil(degrees / self.CELL_DEGREES)
        cols = min(math.ceil(degrees / max(math.cos(math.radians(lat)), 0.01) / self.CELL_DEGREES), 720)
        return [
            place
            for r in range(row - rows, row + rows + 1)
            for c in range(col - cols, col + cols + 1)
            for place in self.by_cell.get((r, c), ())
        ]

    def __len__(self):
        return sum(len(places) for places in self.by_postcode.values())

    def postcode(self, code: str) -> Place | None:
        """The main town of a postcode (the data lists it first)."""
        places = self.by_postcode.get(code.strip())
        return places[0] if places else None

    def town(self, name: str, department: str | None = None) -> list[Place]:
        """Every commune with that name (one when it is unambiguous), in département order.

        A name that is no commune's whole name matches the communes it begins:
        "Andernos" finds Andernos-les-Bains.
        """
        key = normalize_name(name)
        places = self.by_name.get(key, [])
        if not places and len(key) >= 3:
            places = [p for k, ps in self.by_name.items() if k.startswith(key + " ") for p in ps]
        if department:
            places = [p for p in places if p.department.lower() == department.lower()]
        return list(places)

    def close_towns(self, name: str, limit: int = 5) -> list[Place]:
        """Communes whose name is one typo away from ``name`` (a letter missing, extra, wrong or swapped)."""
        key = normalize_name(name)
        if len(key) < 4:
            return []
        letters = "abcdefghijklmnopqrstuvwxyz "
        splits = [(key[:i], key[i:]) for i in range(len(key) + 1)]
        variants = {a + b[1:] for a, b in splits if b}
        variants |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        variants |= {a + c + b[1:] for a, b in splits if b for c in letters}
        variants |= {a + c + b for a, b in splits for c in letters}
        variants.discard(key)
        found = [p for variant in sorted(variants) for p in self.by_name.get(variant, ())]
        if not found:  # "Andernos" style: the typo is in the first word(s) of a longer name
            lengths = (len(key) - 1, len(key), len(key) + 1)
            found = [
                p
                for k, ps in self.by_name.items()
                if any(len(k) > n and k[n] == " " and k[:n] in variants for n in lengths)
                for p in ps
            ]
        return sorted(found, key=lambda p: (p.department, p.name))[:limit]

    def search(self, query: str) -> list[Place]:
        """Places matching what a reader typed: "24100", "Bergerac", "Saint-Martin (54)", "33510 Andernos"."""
        query = " ".join(query.split())
        if not query:
            return []
        if _POSTCODE.match(query):
            place = self.postcode(query)
            return [place] if place else []
        match = _DEPARTMENT_SUFFIX.match(query)
        if match:
            return self.town(match["name"], department=match["dept"])
        code = _POSTCODE_ANYWHERE.search(query)
        if code:
            name = (query[: code.start()] + " " + query[code.end() :]).strip(" ,")
            candidates = self.by_postcode.get(code[1], [])
            named = [p for p in candidates if normalize_name(p.name) == normalize_name(name)] if name else []
            if named:
                return named[:1]
            place = self.postcode(code[1])
            return [place] if place else []
        return self.town(query)

    def geocode_address(self, address: str) -> Place | None:
        """Best place for a postal address: its postcode (and town), else its last part as a town."""
        code = _POSTCODE_ANYWHERE.search(address)
        if code:
            town = normalize_name(address[code.end() :])
            for place in self.by_postcode.get(code[1], []):
                if town and normalize_name(place.name) == town:
                    return place
            return self.postcode(code[1])
        places = self.town(address.split(",")[-1])
        return places[0] if len(places) == 1 else None


def _read_rows(path: Path):
    with gzip.open(path, "rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8"))
        next(reader)
        yield from reader


@functools.cache
def get_gazetteer() -> Gazetteer:
    """The process-wide gazetteer, loaded on first use."""
    return Gazetteer(_read_rows(DATA_FILE))
