"""The ingest fast path (msgspec structs generated from the pydantic report models) never accepts what
pydantic refuses, reads what it accepts the same way, and hands everything else to pydantic."""

from __future__ import annotations

import copy
import gzip
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field, ValidationError, create_model

from canhgac_api.ingest import decode_batch
from canhgac_api.problems import ProblemError
from canhgac_api.schemas import fast
from canhgac_api.schemas.report import ReportBatch
from tests.harness.reports import make_report


def _raw(reports: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"reports": reports})


def _pydantic_canonical(raw: bytes) -> list[bytes] | None:
    try:
        batch = ReportBatch.model_validate_json(raw)
    except ValidationError:
        return None
    return [r.model_dump_json().encode() for r in batch.reports]


@pytest.mark.parametrize("with_security", [False, True])
def test_valid_reports_decode_to_the_same_canonical_json_as_pydantic(with_security: bool) -> None:
    raw = _raw([make_report("a" * 32, s, with_security=with_security) for s in (1, 2)])
    batch = fast.decode_batch_fast(raw)
    assert batch is not None
    # byte-identical: content hashes in the ledger do not change with the decoder
    assert [fast.encode(r) for r in batch.reports] == _pydantic_canonical(raw)


REFUSED = [
    ("unknown key", lambda r: r["host"]["os"].update(kernel="x")),
    ("too long", lambda r: r["host"]["os"].update(system="x" * 257)),
    ("empty", lambda r: r["host"].update(hostname="")),
    ("below ge", lambda r: r["metrics"]["cpu"].update(percent=-1)),
    ("above le", lambda r: r["metrics"]["cpu"].update(percent=100.5)),
    ("not gt", lambda r: r.update(interval_s=0)),
    ("seq above le", lambda r: r.update(seq=2**62 + 1)),
    ("naive datetime", lambda r: r.update(collected_at="2026-11-22T07:40:00")),
    ("literal", lambda r: r["probes"][0].update(kind="smtp")),
    ("wrong type", lambda r: r["agent"].update(version=3)),
    ("missing", lambda r: r["agent"].pop("spool_backlog")),
    ("list too long", lambda r: r.update(errors=[{"collector": "c", "error": "e"}] * 257)),
]


@pytest.mark.parametrize(("case", "mutate"), REFUSED, ids=[c for c, _ in REFUSED])
def test_every_constraint_is_enforced_by_the_fast_path_itself(case: str, mutate: Any) -> None:
    report = make_report("a" * 32, 1)
    mutate(report)
    raw = _raw([report])
    assert fast.decode_batch_fast(raw) is None, case
    assert _pydantic_canonical(raw) is None, case
    with pytest.raises(ProblemError) as err:
        decode_batch(gzip.compress(raw), "gzip", 1 << 22)
    assert err.value.status == 422
    assert err.value.extra["errors"]  # pydantic's field-by-field explanation


@pytest.mark.parametrize("seq", [7.0, "7", True])
def test_the_protocol_is_strict_on_both_paths(seq: object) -> None:
    """`"7"`, `7.0` and `true` are not integers: neither msgspec nor pydantic coerces them."""
    report = make_report("a" * 32, 7)
    report["seq"] = seq
    raw = _raw([report])
    assert fast.decode_batch_fast(raw) is None
    with pytest.raises(ProblemError) as refused:
        decode_batch(gzip.compress(raw), "gzip", 1 << 22)
    assert refused.value.status == 422
    assert "reports.0.seq" in refused.value.detail


def test_a_constraint_without_translation_fails_at_import_not_silently() -> None:
    class Odd(BaseModel):
        value: int = Field(ge=0, le=10, multiple_of=2)

    with pytest.raises(TypeError, match="no msgspec translation"):
        fast.struct_for(Odd)


@pytest.mark.parametrize("annotation", [int, float, str])
def test_an_unbounded_field_fails_at_import(annotation: type) -> None:
    odd = create_model("Unbounded", value=(annotation, ...))
    with pytest.raises(TypeError, match="without"):
        fast.struct_for(odd)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] or [path]
    return [path]


BASE = make_report("a" * 32, 3, with_security=True)
PATHS = _leaves(BASE)
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(["2026-11-22T07:40:00", "2026-11-22T07:40:00+07:00", "ipv4", "tcp", "linux", ""]),
    st.just([]),
    st.just({}),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), ODD_VALUES), min_size=1, max_size=3))
def test_fast_path_acceptance_implies_pydantic_acceptance_with_the_same_reading(
    edits: list[tuple[tuple[Any, ...], Any]],
) -> None:
    report = copy.deepcopy(BASE)
    for path, value in edits:
        target = report
        for key in path[:-1]:
            target = target[key]
        if path:
            target[path[-1]] = value
    raw = _raw([report])
    batch = fast.decode_batch_fast(raw)
    if batch is not None:
        theirs = _pydantic_canonical(raw)
        assert theirs is not None  # never accepted by the fast path alone
        # the same values (floats ≥ 1e16 print as 1e16 vs 1e+16: same number, not byte-identical)
        assert [orjson.loads(fast.encode(r)) for r in batch.reports] == [orjson.loads(t) for t in theirs]
