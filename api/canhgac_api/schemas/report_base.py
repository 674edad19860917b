"""The report's building blocks: bounds, bounded string and number types, and the strict base model
every section derives from (`report.py` and its section modules import them from here)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

#: Largest integer any field takes: a signed 64-bit column, orjson and Prometheus's float all hold it.
INT64_MAX = 2**63 - 1
#: Largest seq: exact in every JSON implementation (IEEE double), far beyond a lifetime of reports.
SEQ_MAX = 2**53 - 1
#: Any timestamp in a report (boot, last login, signatures…) lies in this span; `collected_at` is also
#: held to a window around the server's clock at ingest (`ingest.max_report_age_s`, `max_clock_ahead_s`).
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
#: The host's identity names its metric series, log lines and pages: no control characters at all.
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
#: Other strings may hold tabs and line breaks (config values, command output), no other control
#: characters (NUL, escape sequences).
TEXT_CHARS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def within_span(value: dt.datetime) -> dt.datetime:
    """Refuse timestamps outside [EARLIEST, LATEST) (also keeps UTC conversions from overflowing)."""
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)")
    return value


Name = Annotated[str, Field(max_length=256, pattern=TEXT_CHARS)]
Text = Annotated[str, Field(max_length=2048, pattern=TEXT_CHARS)]
Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
Int = Annotated[int, Field(ge=-INT64_MAX, le=INT64_MAX)]
Percent = Annotated[float, Field(ge=0, le=100)]
Ratio = Annotated[float, Field(ge=0, le=1)]
Millis = Annotated[float, Field(ge=0, le=86_400_000)]  # a day
Seconds = Annotated[float, Field(ge=0, le=1e10)]  # ~300 years: uptimes, CPU seconds
Load = Annotated[float, Field(ge=0, le=1e6)]
Celsius = Annotated[float, Field(ge=-273.15, le=10_000)]
# ISO strings are the wire form of a datetime (the agent's own tests validate its dicts in Python mode).
Timestamp = Annotated[AwareDatetime, Field(strict=False), AfterValidator(within_span)]


class Strict(BaseModel):
    """Base for every report section: unknown keys are an error, not silently dropped, and types are
    strict as the protocol promises (`"5"` is not an integer, `true` is not a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


#: A MAC address as the sensor writes it: lower-case hex, colon-separated.
MacAddress = Annotated[str, Field(max_length=17, pattern=r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")]
#: An IPv4 or IPv6 address in text form (checked for shape and length only; the server parses it).
IpAddress = Annotated[str, Field(min_length=2, max_length=45, pattern=r"^[0-9A-Fa-f:.]+$")]
