"""A patient's demographic fields as the engine checks them (`engine.people.demographics`), stated in the schema.

The same rules meet a patient created by staff, a correction, and an EHR's `demographics_changed` event: names
not blank, birth sex F, M or UNK (US Core), an email address, a postal code, a phone number, each within its
column. Surrounding spaces are allowed and removed by the engine.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CELL_PHONE, EMAIL, NOT_BLANK, ZIP, IsoDate, says

PersonName = Annotated[str, Field(max_length=120, pattern=NOT_BLANK), says("must not be blank")]
BirthSex = Annotated[Literal["F", "M", "UNK"], Field(description="US Core birth sex: F, M or UNK")]
Email = Annotated[str, Field(max_length=320, pattern=EMAIL, examples=["jane@example.test"]),
                  says("not an email address")]
Zip = Annotated[str, Field(max_length=16, pattern=ZIP, description="letters, digits, spaces and dashes",
                           examples=["02139"]), says("not a postal code: letters, digits, spaces and dashes")]
_PHONE_FORM = ("digits, spaces and ( ) . -, after an optional +: at least 7 characters, the first and last not "
               "spaces")
CellPhone = Annotated[str, Field(max_length=32, pattern=CELL_PHONE, examples=["+1 617 555 0199"],
                                 description=_PHONE_FORM), says(f"not a phone number: {_PHONE_FORM}")]


class DemographicChanges(BaseModel):
    """The demographic fields to change, each to its new value; null clears it, a field left out stays."""

    model_config = ConfigDict(extra="forbid")
    first_name: PersonName | None = None
    last_name: PersonName | None = None
    birth_date: IsoDate | None = None
    birth_sex: BirthSex | None = None
    zip: Zip | None = None
    email: Email | None = None
    cell_phone: CellPhone | None = None
