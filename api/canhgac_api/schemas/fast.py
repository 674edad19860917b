"""The report schema as msgspec structs, derived from the pydantic models at import: the ingest fast path.

Decoding a 4 KB report with msgspec costs a fraction of pydantic's validation (bench/ingest.py, ADR 0009),
and ingest decodes every report a province sends. The pydantic models stay the contract (OpenAPI, the
agent's tests, the error details); these structs are generated from them — same fields, defaults and
constraints — so there is nothing to keep in sync by hand. Every constraint used by `schemas/report.py`
is translated, and an unknown one fails at import rather than being silently dropped.

`decode_batch_fast` only answers "valid" for what pydantic would also accept. Anything msgspec refuses
(including what pydantic's lax mode would coerce, such as `5.0` for an integer) goes to pydantic, which
then decides and, when it refuses too, explains.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Any

import annotated_types as at
import msgspec
from pydantic import AwareDatetime, BaseModel
from pydantic.fields import FieldInfo

from canhgac_api.schemas import report as wire

_CONSTRAINTS: dict[type, str] = {
    at.Ge: "ge",
    at.Gt: "gt",
    at.Le: "le",
    at.Lt: "lt",
    at.MinLen: "min_length",
    at.MaxLen: "max_length",
}
_structs: dict[type[BaseModel], type[msgspec.Struct]] = {}


def _meta(metadata: list[Any]) -> dict[str, Any]:
    """msgspec.Meta arguments for pydantic/annotated-types constraints."""
    out: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            out.update(_meta(item.metadata))
            continue
        name = _CONSTRAINTS.get(type(item))
        if name is None:
            raise TypeError(f"no msgspec translation for the constraint {item!r}")
        out[name] = getattr(item, name)
    return out


def _translate(tp: Any, metadata: list[Any] | None = None) -> Any:
    """The msgspec type for a pydantic field annotation (constraints from `metadata` applied)."""
    meta = _meta(metadata or [])
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(tp)
        return _translate(base, [*(metadata or []), *extra])
    if tp is AwareDatetime:
        out: Any = dt.datetime
        meta["tz"] = True
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        out = struct_for(tp)
    elif origin in (typing.Union, types.UnionType):
        out = typing.Union[tuple(_translate(a) for a in typing.get_args(tp))]  # noqa: UP007
    elif origin is list:
        (item,) = typing.get_args(tp)
        out = list[_translate(item)]  # type: ignore[misc]
    elif origin is dict:
        key, value = typing.get_args(tp)
        out = dict[_translate(key), _translate(value)]  # type: ignore[misc]
    elif origin is typing.Literal or tp in (str, int, float, bool, type(None)):
        out = tp
    else:
        raise TypeError(f"no msgspec translation for the type {tp!r}")
    return typing.Annotated[out, msgspec.Meta(**meta)] if meta else out


def struct_for(model: type[BaseModel]) -> type[msgspec.Struct]:
    """The struct mirroring `model` (fields in order, defaults, constraints, unknown keys refused)."""
    if model in _structs:
        return _structs[model]
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for name, info in model.model_fields.items():
        annotation = _translate(info.annotation, list(info.metadata))
        if info.is_required():
            fields.append((name, annotation))
        elif info.default_factory is not None:
            fields.append((name, annotation, msgspec.field(default_factory=info.default_factory)))  # type: ignore[arg-type]
        else:
            fields.append((name, annotation, info.default))
    struct = msgspec.defstruct(model.__name__, fields, forbid_unknown_fields=True, kw_only=True)
    _structs[model] = struct
    return struct


FastReport = struct_for(wire.Report)
FastReportBatch = struct_for(wire.ReportBatch)
_decoder = msgspec.json.Decoder(FastReportBatch)
_encoder = msgspec.json.Encoder()


def decode_batch_fast(raw: bytes) -> Any | None:
    """The batch as structs when msgspec accepts it; None when pydantic must decide."""
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError:  # ValidationError is one
        return None


def from_model(batch: wire.ReportBatch) -> Any:
    """A pydantic-validated batch as structs (the slow path joins the fast one here)."""
    return msgspec.convert(batch.model_dump(), FastReportBatch, from_attributes=False)


def encode(value: Any) -> bytes:
    """Canonical JSON of a struct (field order of the schema)."""
    return _encoder.encode(value)


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)
