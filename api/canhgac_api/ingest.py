"""Agent report decoding for the ingest worker: gzip → JSON → validated structs → store jobs.

msgspec decodes what is plainly valid (the generated `schemas.fast` structs); anything else is pydantic's
to explain field by field. A request refused here is answered alone, with a problem detail saying what
was wrong and where; the rest of its group is stored by `canhgac_collector.hosts.ingest.IngestStore`.
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

import orjson
from pydantic import ValidationError

from canhgac_api.problems import ProblemError, describe_errors, validation_errors
from canhgac_api.schemas import fast
from canhgac_api.schemas.report import ReportBatch
from canhgac_collector.hosts.ingest import IngestJob, PreparedReport


def decode_batch(body: bytes, content_encoding: str, max_decompressed: int) -> Any:
    """gzip → JSON → validated batch (`schemas.fast` structs), or a ProblemError saying what was wrong.

    msgspec decodes what is plainly valid; anything else is pydantic's to accept (lax coercions) or to
    explain field by field."""
    if content_encoding == "gzip":
        decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = decomp.decompress(body, max_decompressed + 1)
        except zlib.error as exc:
            raise ProblemError(
                400, "malformed-body", "Malformed request body", f"the body is not valid gzip: {exc}"
            ) from None
        if len(raw) > max_decompressed or decomp.unconsumed_tail:
            raise ProblemError(
                413,
                "body-too-large",
                "Request body too large",
                f"the decompressed body exceeds {max_decompressed} bytes",
            )
        if not decomp.eof:
            raise ProblemError(
                400, "malformed-body", "Malformed request body", "the gzip stream is truncated"
            )
    else:
        raw = body
    batch = fast.decode_batch_fast(raw)
    if batch is not None:
        return batch
    try:
        return fast.from_model(ReportBatch.model_validate_json(raw))
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            raise ProblemError(
                400,
                "malformed-body",
                "Malformed request body",
                f"the body is not valid JSON: {describe_errors(errors, 1)}",
            ) from None
        raise ProblemError(
            422, "invalid-report", "Report failed validation", describe_errors(errors), errors=errors
        ) from None


def prepare(batch: Any, host_id: str) -> list[PreparedReport]:
    """Check the batch belongs to `host_id` and is ordered; compute each report's stored form."""
    prepared: list[PreparedReport] = []
    previous = 0
    for i, report in enumerate(batch.reports):
        if report.agent_id != host_id:
            raise ProblemError(
                403,
                "wrong-agent",
                "Report of another agent",
                f"reports[{i}].agent_id is not the agent this token was issued to",
            )
        if report.seq <= previous:
            raise ProblemError(
                422,
                "invalid-report",
                "Report failed validation",
                f"reports[{i}].seq: seqs in a batch must be strictly increasing "
                f"({report.seq} after {previous})",
            )
        previous = report.seq
        canonical = fast.encode(report)
        prepared.append(
            PreparedReport(
                report.seq,
                report.collected_at,
                hashlib.sha256(canonical).digest(),
                canonical,
            )
        )
    return prepared


def make_job(host_id: str, batch: Any) -> IngestJob:
    """A validated batch as the store needs it (ProblemError when it is not this agent's or unordered)."""
    reports = prepare(batch, host_id)
    newest = batch.reports[-1]
    with_security = [r for r in batch.reports if r.security is not None]
    security = with_security[-1] if with_security else None
    return IngestJob(
        host_id,
        reports,
        newest.host.hostname,
        newest.agent.version,
        _os_name(newest),
        _without_none(fast.to_builtins(security.security)) if security and security.security else None,
        security.collected_at if security else None,
        batch.reports,
    )


def _without_none(value: Any) -> Any:
    """JSON facts with None-valued keys left out (absent and unknown read the same to the rules)."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _os_name(report: Any) -> str:
    os_info = report.host.os
    return (os_info.pretty_name or f"{os_info.system} {os_info.release}")[:200]


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)
