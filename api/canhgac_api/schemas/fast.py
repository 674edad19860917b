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
from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic import Strict as PydanticStrict
from pydantic.fields import FieldInfo

from canhgac_api.schemas import report as wire
from canhgac_api.schemas.report_base import within_span

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
    """msgspec.Meta arguments for pydantic/annotated-types constraints. The timestamp span check has
    no msgspec form: `struct_for` runs it in the struct's `__post_init__` instead."""
    out: dict[str, Any] = {}
    for item in metadata:
        if isinstance(item, FieldInfo):
            out.update(_meta(item.metadata))
            continue
        if _is_span_check(item) or isinstance(item, PydanticStrict):
            continue  # msgspec is always strict
        pattern = getattr(item, "pattern", None)
        if pattern is not None and type(item).__name__ == "_PydanticGeneralMetadata":
            out["pattern"] = pattern
            continue
        name = _CONSTRAINTS.get(type(item))
        if name is None:
            raise TypeError(f"no msgspec translation for the constraint {item!r}")
        out[name] = getattr(item, name)
    return out


def _is_span_check(item: Any) -> bool:
    return isinstance(item, AfterValidator) and item.func is within_span


def _bounded(tp: Any, meta: dict[str, Any]) -> None:
    """Every number and string of the wire schema has its bounds, so nothing unbounded reaches storage,
    the JSON encoder or alert evaluation; a field added without them fails here, at import."""
    if tp in (int, float) and not (("ge" in meta or "gt" in meta) and ("le" in meta or "lt" in meta)):
        raise TypeError(f"a {tp.__name__} field without lower and upper bounds ({meta})")
    if tp is str and "max_length" not in meta:
        raise TypeError(f"a str field without max_length ({meta})")


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
        _bounded(tp, meta)
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
    spans = tuple(name for name, info in model.model_fields.items() if _span_checked(info))
    namespace = {"__post_init__": _span_checker(spans)} if spans else None
    struct = msgspec.defstruct(
        model.__name__, fields, forbid_unknown_fields=True, kw_only=True, namespace=namespace
    )
    _structs[model] = struct
    return struct


def _span_checked(info: FieldInfo) -> bool:
    """The field is a `wire.Timestamp` (directly or optional)."""
    if any(_is_span_check(m) for m in info.metadata):
        return True
    for arg in typing.get_args(info.annotation):
        if typing.get_origin(arg) is typing.Annotated and any(
            _is_span_check(m) for m in typing.get_args(arg)[1:]
        ):
            return True
    return False


def _span_checker(names: tuple[str, ...]) -> Any:
    def __post_init__(self: Any) -> None:
        for name in names:
            value = getattr(self, name)
            if value is not None:
                within_span(value)  # ValueError → msgspec.ValidationError naming the field

    return __post_init__


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
