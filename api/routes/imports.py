"""Import patients and guardians: a CSV file or a FHIR R4 Bundle (Patient, RelatedPerson) in the request body.

The answer reports what was created and every rejected row with where it is, the field and why; the rest is
imported in batches. The same as `portalflow import FILE` on the server.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from api.deps import Flow, Importer
from api.errors import ApiError, responses
from engine.imports.batches import ImportReport
from engine.imports.csv_file import COLUMNS as CSV_COLUMNS

router = APIRouter(tags=["imports"], responses=responses(401, 403, 413, 415, 422))
MAX_BYTES = 20 * 1024 * 1024  # ~100,000 patients as CSV; bigger files go through `portalflow import`


class RejectedOut(BaseModel):
    where: str = Field(examples=["line 4"])
    field: str | None = Field(examples=["birth_date"])
    reason: str


class ImportOut(BaseModel):
    patients_created: int
    households_created: int
    members_added: int
    rejected: list[RejectedOut]

    @classmethod
    def of(cls, report: ImportReport) -> ImportOut:
        return cls(patients_created=report.patients_created, households_created=report.households_created,
                   members_added=report.members_added,
                   rejected=[RejectedOut(where=r.where, field=r.field, reason=r.reason) for r in report.rejected])


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
                          ) -> ImportOut:
    """Import a CSV file (`Content-Type: text/csv`) or a FHIR R4 Bundle (`application/fhir+json`)."""
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
        return ImportOut.of(flow.imports.csv(user.actor, text, site_id=site_id))
    if kind in ("application/fhir+json", "application/json"):
        bundle = _json(text)
        return ImportOut.of(flow.imports.fhir(user.actor, bundle, site_id=site_id))
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
