"""Import patients and guardians from a FHIR R4 Bundle (parsed JSON): Patient and RelatedPerson resources.

How a Patient maps:
- id: the resource id. Site: `managingOrganization` "Organization/<id>", else the default site given.
- Name: the "official" name, else the "usual" one, else the first that is not old, maiden or a nickname. A name
  whose use is "temp", or a placeholder given name ("Baby Boy"), marks the name as a placeholder.
- birthDate; birth sex from the US Core birthsex extension's valueCode (F, M, UNK), never from `gender`:
  `gender` is administrative gender, and the portal's required field is birth sex (the PxP handout).
- postalCode of the first home address, else of the first address; the first email; the first mobile phone.
- PCP: the first `generalPractitioner` that is a Practitioner.

A RelatedPerson is the guardian of the Patient its `patient` refers to ("Patient/<id>", or the fullUrl of an entry
of the Bundle). Its household id is its first identifier's value, else its resource id: a guardian appearing once
per child, with the same identifier, becomes one household with every child in it. Any RelatedPerson is taken as
a guardian; the relationship is not checked. Patients are written before RelatedPersons, whatever the order of
the entries. Other resource types are rejected one by one, and the rest is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from sqlalchemy import Engine

from engine.actors import ActorRef
from engine.enrollments.intake import EventIntake
from engine.errors import InvalidInput
from engine.imports.batches import (
    JUST_IMPORT,
    Guardian,
    ImportOptions,
    ImportRow,
    Now,
    Progress,
    parse_birth_date,
    problem_of,
    run_import,
)
from engine.imports.report import ImportReport, Rejected
from engine.people.patients import NewPatient

BIRTH_SEX_URL = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
_UNCHOSEN_NAMES = ("old", "maiden", "nickname", "anonymous")
# Our field names -> the resource's, for rejections.
_PATIENT_NAMES = {
    "patient.id": "id", "patient.site_id": "managingOrganization", "patient.given_name": "name.given",
    "patient.family_name": "name.family", "patient.birth_date": "birthDate",
    "patient.birth_sex": "extension(us-core-birthsex).valueCode", "patient.zip": "address.postalCode",
    "patient.email": "telecom(email)", "patient.cell_phone": "telecom(phone, mobile)",
    "patient.pcp_id": "generalPractitioner", "patient.responsible_provider_id": "generalPractitioner"}
_GUARDIAN_NAMES = {
    "guardian.guardian_given_name": "name.given", "guardian.guardian_family_name": "name.family",
    "guardian.guardian_email": "telecom(email)", "guardian.patient_id": "patient", "guardian.site_id": "patient"}


def import_fhir_bundle(db: Engine, clock: Now, actor: ActorRef, bundle: Mapping[str, Any], *,
                       site_id: str | None = None, batch: int = 200, options: ImportOptions = JUST_IMPORT,
                       intake: EventIntake | None = None, progress: Progress | None = None) -> ImportReport:
    """Import a Bundle's Patients, then its RelatedPersons; `site_id` is the site of Patients naming none.
    `options`, `intake` and `progress` as `engine.imports.batches.run_import` takes them.

    Raises `InvalidInput` before writing anything when `bundle` is not a Bundle with a list of entries.
    """
    rows = bundle_rows(bundle, site_id)
    if progress is not None:
        progress.begin(len(bundle["entry"]) if "entry" in bundle else 0)
    return run_import(db, clock, actor, rows, batch=batch, options=options, intake=intake, unit="entry",
                      progress=progress)


def bundle_rows(bundle: Mapping[str, Any], site_id: str | None) -> Iterator[ImportRow | Rejected]:
    """The Bundle's entries as rows: its Patients first, then its RelatedPersons, then nothing else."""
    kind = bundle.get("resourceType") if isinstance(bundle, Mapping) else type(bundle).__name__
    if kind != "Bundle":
        raise InvalidInput("resourceType", f"expected a FHIR Bundle, got {kind!r}")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise InvalidInput("entry", "must be a list of entries")
    return _rows(entries, site_id)


def _rows(entries: Sequence[object], site_id: str | None) -> Iterator[ImportRow | Rejected]:
    guardians: list[tuple[int, str, Mapping[str, Any]]] = []
    patient_urls: dict[str, str] = {}  # fullUrl -> Patient id, for references by fullUrl (urn:uuid:...)
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            yield Rejected(f"entry[{index}]", None, "has no resource")
            continue
        where, kind = _where(index, resource), resource.get("resourceType")
        if kind == "Patient":
            yield _converted(index, where, partial(_patient, where, resource, site_id))
            full_url = entry.get("fullUrl") if isinstance(entry, Mapping) else None
            if isinstance(full_url, str) and isinstance(resource.get("id"), str):
                patient_urls[full_url] = resource["id"]
        elif kind == "RelatedPerson":
            guardians.append((index, where, resource))
        else:
            yield Rejected(where, None, "not a Patient or RelatedPerson")
    for index, where, resource in guardians:
        yield _converted(index, where, partial(_guardian, where, resource, patient_urls))


def _where(index: int, resource: Mapping[str, Any]) -> str:
    kind, ident = resource.get("resourceType"), resource.get("id")
    if not isinstance(kind, str):
        return f"entry[{index}]"
    return f"entry[{index}] ({kind}/{ident})" if isinstance(ident, str) else f"entry[{index}] ({kind})"


def _converted(index: int, where: str, convert: Callable[[], ImportRow]) -> ImportRow | Rejected:
    try:
        row = convert()
    except InvalidInput as bad:
        return Rejected(where, bad.field, problem_of(bad))
    return replace(row, number=index)


def _patient(where: str, resource: Mapping[str, Any], site_id: str | None) -> ImportRow:
    given, family, temporary = _name(resource)
    site = _reference(resource.get("managingOrganization"), "Organization", "managingOrganization") or site_id
    if site is None:
        raise InvalidInput("managingOrganization", "required: no Organization reference, and no default site "
                                                   "was given")
    # A generalPractitioner may also be an Organization or a PractitionerRole: the PCP is the first Practitioner.
    pcp = next(filter(None, (_reference(p, "Practitioner", "generalPractitioner", strict=False)
                             for p in _list(resource, "generalPractitioner"))), None)
    patient = NewPatient(
        id=_text(resource, "id") or "", site_id=site, given_name=given, family_name=family,
        birth_date=parse_birth_date(resource.get("birthDate"), "birthDate"), birth_sex=_birth_sex(resource),
        zip=_postal_code(resource), email=_telecom(resource, "email"), cell_phone=_telecom(resource, "phone", "mobile"),
        pcp_id=pcp, name_is_placeholder=True if temporary else None)
    return ImportRow(where, patient=patient, names=_PATIENT_NAMES)


def _guardian(where: str, resource: Mapping[str, Any], patient_urls: Mapping[str, str]) -> ImportRow:
    child = _child(resource.get("patient"), patient_urls)
    identifier = next((i["value"] for i in _list(resource, "identifier")
                       if isinstance(i, Mapping) and isinstance(i.get("value"), str) and i["value"]), None)
    household_id = identifier or _text(resource, "id") or ""
    given, family, _ = _name(resource)
    guardian = Guardian(household_id, given, family, _telecom(resource, "email"))
    names = {**_GUARDIAN_NAMES, "guardian.id": "identifier" if identifier else "id"}
    return ImportRow(where, guardian=guardian, child_id=child, names=names)


def _child(value: object, patient_urls: Mapping[str, str]) -> str:
    reference = value.get("reference") if isinstance(value, Mapping) else None
    if isinstance(reference, str) and reference in patient_urls:
        return patient_urls[reference]
    child = _reference(value, "Patient", "patient")
    if child is None:
        raise InvalidInput("patient", "required: the Patient this person is the guardian of (Patient/<id>)")
    return child


# ----- FHIR data types --------------------------------------------------------------------------------------------


def _list(resource: Mapping[str, Any], key: str) -> list[Any]:
    value = resource.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(key, "must be a list")
    return value


def _text(resource: Mapping[str, Any], key: str, field_name: str | None = None) -> str | None:
    value = resource.get(key)
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(field_name or key, "must be text")


def _name(resource: Mapping[str, Any]) -> tuple[str | None, str | None, bool]:
    """Given name(s), family name, and whether the name is marked temporary."""
    names = [n for n in _list(resource, "name") if isinstance(n, Mapping)]
    if not names:
        return None, None, False
    chosen = next((n for use in ("official", "usual") for n in names if n.get("use") == use), None)
    chosen = chosen or next((n for n in names if n.get("use") not in _UNCHOSEN_NAMES), names[0])
    given = _list(chosen, "given")
    if not all(isinstance(part, str) for part in given):
        raise InvalidInput("name.given", "must be a list of text")
    return " ".join(given) or None, _text(chosen, "family", "name.family"), chosen.get("use") == "temp"


def _birth_sex(resource: Mapping[str, Any]) -> str | None:
    for extension in _list(resource, "extension"):
        if isinstance(extension, Mapping) and extension.get("url") == BIRTH_SEX_URL:
            code = extension.get("valueCode")
            if not isinstance(code, str):
                raise InvalidInput(_PATIENT_NAMES["patient.birth_sex"], "required: F, M or UNK")
            return code
    return None


def _postal_code(resource: Mapping[str, Any]) -> str | None:
    addresses = [a for a in _list(resource, "address") if isinstance(a, Mapping)]
    home = next((a for a in addresses if a.get("use") == "home"), addresses[0] if addresses else None)
    return None if home is None else _text(home, "postalCode", "address.postalCode")


def _telecom(resource: Mapping[str, Any], system: str, use: str | None = None) -> str | None:
    for point in _list(resource, "telecom"):
        if (isinstance(point, Mapping) and point.get("system") == system and (use is None or point.get("use") == use)
                and isinstance(point.get("value"), str)):
            value: str = point["value"]
            return value
    return None


def _reference(value: object, kind: str, field_name: str, *, strict: bool = True) -> str | None:
    """The id in a Reference to a `kind` ("Practitioner/12", ".../fhir/Practitioner/12/_history/3")."""
    if value is None:
        return None
    reference = value.get("reference") if isinstance(value, Mapping) else None
    parts = reference.split("/") if isinstance(reference, str) else []
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == kind and parts[i + 1]:
            return parts[i + 1]
    if strict:
        raise InvalidInput(field_name, f"{reference!r} is not a reference to a {kind} ({kind}/<id>)")
    return None
