"""Import patients and guardians: a CSV file or a FHIR R4 Bundle (Patient, RelatedPerson) in the request body.

The answer reports what was created and every rejected row with where it is, the field and why; the rest is
imported in batches. `dry_run=true` checks every row exactly as the import would and answers the same report,
writing nothing; `update=true` corrects the patients who already exist (same patient id) instead of rejecting
their rows, through the correction path staff use. The same as `portalflow import FILE` (`--dry-run`, `--update`)
on the server.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import Flow, Importer
from api.errors import ApiError, responses
from engine.imports.batches import ImportOptions
from engine.imports.csv_file import COLUMNS as CSV_COLUMNS
from engine.imports.report import ImportReport

router = APIRouter(tags=["imports"], responses=responses(401, 403, 413, 415, 422))
MAX_BYTES = 20 * 1024 * 1024  # ~100,000 patients as CSV; bigger files go through `portalflow import`


class RejectedOut(BaseModel):
    where: str = Field(examples=["line 4"])
    field: str | None = Field(examples=["birth_date"])
    reason: str


class UpdatedOut(BaseModel):
    where: str = Field(examples=["line 4"])
    patient_id: str
    fields: list[str] = Field(description="the fields whose value changed, as the file names them",
                              examples=[["email", "zip"]])
    event: str | None = Field(description="what the change set off when it moved an enrollment (an invite re-sent)")


class ImportOut(BaseModel):
    dry_run: bool = Field(description="true: nothing was written; the report says what the import would do")
    summary: str = Field(examples=["imported 10 patient(s), 2 household(s); rejected 0 row(s)"])
    patients_created: int
    households_created: int
    members_added: int
    patients_updated: int
    created: list[str] = Field(description="where each row that created someone is", examples=[["line 2"]])
    updated: list[UpdatedOut]
    unchanged: list[str] = Field(description="where each row that changed nothing is (its patient as on file)")
    rejected: list[RejectedOut]
    existing: int = Field(description="rejected rows whose patient already exists: `update=true` corrects them")

    @classmethod
    def of(cls, report: ImportReport) -> ImportOut:
        return cls(dry_run=report.dry_run, summary=report.summary(), patients_created=report.patients_created,
                   households_created=report.households_created, members_added=report.members_added,
                   patients_updated=len(report.updated), created=[r.where for r in report.created],
                   updated=[UpdatedOut(where=u.where, patient_id=u.patient_id, fields=list(u.fields), event=u.event)
                            for u in report.updated],
                   unchanged=[r.where for r in report.unchanged],
                   rejected=[RejectedOut(where=r.where, field=r.field, reason=r.reason) for r in report.rejected],
                   existing=report.existing)


# The whole request is refused (422) when the file cannot be read as one: a CSV file without its header row, with an
# unknown or repeated column, without patient_id, or without site_id when no ?site_id= is given; a JSON body that is
# not a Bundle with a list of entries. A row (or entry) that is wrong is reported in the answer, and the rest is
# imported. A CSV header is a file's first line, which JSON Schema cannot take apart: it is told in words.
_CSV = ("UTF-8 CSV whose first row names its columns, each once, from: " + ", ".join(CSV_COLUMNS)
        + "; patient_id is required, and site_id unless ?site_id= gives the site")
_BUNDLE = {"type": "object", "required": ["resourceType"], "description": "a FHIR R4 Bundle of Patient and "
           "RelatedPerson resources", "properties": {"resourceType": {"const": "Bundle"},
                                                     "entry": {"type": "array"}}}
_BODY = {"content": {
    "text/csv": {"schema": {"type": "string", "description": _CSV},
                 "example": "patient_id,site_id,given_name,family_name,birth_date\n"
                            "mrn-1,main,Maria,Garcia,1984-07-12\n"},
    "application/fhir+json": {"schema": _BUNDLE},
    "application/json": {"schema": _BUNDLE}}, "required": True}


@router.post("/imports/patients", response_model=ImportOut, openapi_extra={"requestBody": _BODY})
async def import_patients(request: Request, user: Importer, flow: Flow,
                          site_id: Annotated[str | None, Query(description="for rows that name no site")] = None,
                          dry_run: Annotated[bool, Query(description="check everything, write nothing")] = False,
                          update: Annotated[bool, Query(description="correct the patients who already exist")] = False,
                          ) -> ImportOut:
    """Import a CSV file (`Content-Type: text/csv`) or a FHIR R4 Bundle (`application/fhir+json`)."""
    options = ImportOptions(dry_run=dry_run, update=update, source="import over HTTP")
    raw = await request.body()
    if len(raw) > MAX_BYTES:
        raise ApiError(413, "too_large", f"at most {MAX_BYTES // (1024 * 1024)} MB per request; "
                                         "import bigger files with `portalflow import` on the server")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(422, "invalid_request", "the body is not UTF-8 text", field="body") from None
    if kind == "text/csv":
        # In a worker thread: a large file takes seconds, and the event loop goes on serving other requests.
        return ImportOut.of(await run_in_threadpool(flow.imports.csv, user.actor, text, site_id=site_id,
                                                    options=options))
    if kind in ("application/fhir+json", "application/json"):
        bundle = _json(text)
        return ImportOut.of(await run_in_threadpool(flow.imports.fhir, user.actor, bundle, site_id=site_id,
                                                    options=options))
    raise ApiError(415, "unsupported_media_type",
                   f"send text/csv or application/fhir+json, not '{kind or 'no Content-Type'}'",
                   field="header.Content-Type")


def _json(text: str) -> Any:
    try:
        bundle = json.loads(text)
    except json.JSONDecodeError as error:
        raise ApiError(422, "invalid_request", f"the body is not JSON: {error.msg} at line {error.lineno}, "
                                               f"column {error.colno}", field="body") from None
    if not isinstance(bundle, dict):
        raise ApiError(422, "invalid_input", "a FHIR Bundle (a JSON object) is expected", field="body")
    return bundle
