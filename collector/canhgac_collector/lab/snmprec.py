"""Write and read snmpsim ``.snmprec`` recordings: one ``OID|TAG|VALUE`` line per object, sorted by OID.

Tags are snmpsim's (the BER type as a decimal number): 2 INTEGER, 4 OCTET STRING (``4x`` = hex value),
6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64. A tag like
``70:numeric`` hands the value to snmpsim's `numeric` variation module: ``rate=R,initial=I`` answers
``I + R × seconds since the snmpsim process started`` (wrapping at the type's maximum with ``wrap=1``),
which is how the lab's counters advance between polls.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from pathlib import Path

OID = tuple[int, ...]
Record = tuple[OID, str, str]

INTEGER, OCTET_STRING, OBJECT_ID, IP_ADDRESS = "2", "4", "6", "64"
COUNTER32, GAUGE32, TIMETICKS, COUNTER64 = "65", "66", "67", "70"
_MAX = {COUNTER32: 0xFFFFFFFF, GAUGE32: 0xFFFFFFFF, TIMETICKS: 0xFFFFFFFF, COUNTER64: 0xFFFFFFFFFFFFFFFF}
_PRINTABLE = frozenset(string.printable.encode()) - frozenset(b"\r\n\t\x0b\x0c|")


def oid(text: str | OID) -> OID:
    """'1.3.6.1.2.1.1.1.0' (or a tuple) → a tuple of ints."""
    if isinstance(text, tuple):
        return text
    return tuple(map(int, text.strip().lstrip(".").split(".")))


class SnmprecWriter:
    """Collects objects for one device and writes them sorted numerically by OID (duplicates refused)."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[str, str]] = {}  # canonical dotted OID → (tag, value)

    def __len__(self) -> int:
        return len(self._records)

    def add(self, o: str | OID, tag: str, value: str) -> None:
        key = ".".join(map(str, o)) if isinstance(o, tuple) else ".".join(map(str, oid(o)))
        if key in self._records:
            raise ValueError(f"duplicate OID {key}")
        if "\n" in value or "\r" in value:
            raise ValueError("snmprec values are one line: use octets() for binary data")
        self._records[key] = (tag, value)

    def integer(self, o: str | OID, value: int) -> None:
        self.add(o, INTEGER, str(value))

    def octets(self, o: str | OID, value: str | bytes) -> None:
        """An OCTET STRING: printable text as is, anything else (MACs, UTF-8) hex-encoded."""
        raw = value.encode() if isinstance(value, str) else value
        if raw and all(b in _PRINTABLE for b in raw) and raw == raw.strip():
            self.add(o, OCTET_STRING, raw.decode("ascii"))
        else:
            self.add(o, OCTET_STRING + "x", raw.hex())

    def object_id(self, o: str | OID, value: str | OID) -> None:
        self.add(o, OBJECT_ID, ".".join(map(str, oid(value))))

    def ip_address(self, o: str | OID, value: str) -> None:
        self.add(o, IP_ADDRESS, value)

    def counter32(self, o: str | OID, value: int) -> None:
        self.add(o, COUNTER32, str(value & _MAX[COUNTER32]))

    def gauge32(self, o: str | OID, value: int) -> None:
        self.add(o, GAUGE32, str(max(0, min(value, _MAX[GAUGE32]))))

    def timeticks(self, o: str | OID, value: int) -> None:
        self.add(o, TIMETICKS, str(value & _MAX[TIMETICKS]))

    def counter64(self, o: str | OID, value: int) -> None:
        self.add(o, COUNTER64, str(value & _MAX[COUNTER64]))

    def advancing(self, o: str | OID, tag: str, initial: int, rate: float) -> None:
        """A Counter32/Counter64/TimeTicks that grows by `rate` per second while snmpsim runs, wrapping."""
        if tag not in (COUNTER32, COUNTER64, TIMETICKS):
            raise ValueError(f"advancing() is for counters and timeticks, not tag {tag}")
        initial &= _MAX[tag]
        self.add(o, f"{tag}:numeric", f"rate={rate:g},initial={initial},wrap=1")

    def records(self) -> list[Record]:
        """Every object, sorted by OID as snmpsim requires."""
        return [(oid(k), *self._records[k]) for k in self._sorted_keys()]

    def _sorted_keys(self) -> list[str]:
        return sorted(self._records, key=lambda k: tuple(map(int, k.split("."))))

    def write(self, path: Path) -> Path:
        """Write the recording atomically (snmpsim must never index half a file).

        An unchanged file is left untouched, so its mtime, and snmpsim's index of it, stay valid.
        """
        records = self._records
        text = "".join(f"{k}|{records[k][0]}|{records[k][1]}\n" for k in self._sorted_keys())
        data = text.encode("ascii")
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path


def read_snmprec(path: Path) -> list[Record]:
    """Parse a plain ``.snmprec`` file (comments and blank lines skipped), in file order."""
    out: list[Record] = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            parts = line.split("|", 2)
            if len(parts) != 3:
                raise ValueError(f"{path}:{number}: not OID|TAG|VALUE: {line[:80]!r}")
            out.append((oid(parts[0]), parts[1], parts[2]))
    return out


def decode_octets(tag: str, value: str) -> bytes:
    """The bytes an OCTET STRING record stands for (``4`` text or ``4x`` hex)."""
    return bytes.fromhex(value) if tag.endswith("x") else value.encode()


def record_map(records: Iterable[Record]) -> dict[OID, tuple[str, str]]:
    return {o: (tag, value) for o, tag, value in records}
