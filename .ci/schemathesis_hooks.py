"""Schemathesis hooks for numberdesk's outside-client check (see schemathesis.toml)."""

import json

import schemathesis

# The 400 codes of the rules a schema cannot state, per operation (docs/api.md).
BUSINESS_CODES = {
    ("POST", "/voice/phonenumberrequestapi/v1/{accountGuid}/numberrequests"): {
        "NUMBER_TYPE_NOT_ALLOWED",
        "AREA_CODE_OR_CITY_REQUIRED",
        "REGION_REQUIRED",
        "QUANTITY_NOT_ALLOWED",
        "RANGE_SIZE_NOT_ALLOWED",
        "AREA_CODE_REQUIRED",
        "ADDRESS_NOT_IN_PREFIX_REGION",
        "CALLBACK_URL_NOT_ALLOWED",
    },
}

# Operations whose cross-field or numbering-plan rules answer VALIDATION_FAILED; the fields
# such a refusal may name.
CROSS_FIELD_RULES = {
    ("POST", "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles"): (
        "representativePhoneNumber",
    ),
    ("PUT", "/voice/companyprofilesapi/v1/{accountGuid}/companyprofiles/{id}"): (
        "representativePhoneNumber",
    ),
    ("POST", "/admin/v1/inventory"): ("numbers",),
    ("PUT", "/admin/v1/restrictions/{countryCode}/{phoneNumberType}"): (
        "minQuantity",
        "allowedRangeSizes",
    ),
}


def _is_positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.check
def business_rule_refusals(ctx, response, case):
    """A 400 to schema-valid data is only one of the rules a schema cannot state."""
    if response.status_code != 400 or not _is_positive(case):
        return None
    key = (case.operation.method.upper(), case.operation.path)
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError("a 400 answer without a JSON error body")
    code = body.get("messageCode")
    if code in BUSINESS_CODES.get(key, set()):
        return None
    if code == "VALIDATION_FAILED" and key in CROSS_FIELD_RULES:
        prefixes = CROSS_FIELD_RULES[key]
        fields = [e.get("field", "") for e in body.get("errors", [])]
        if fields and all(f.startswith(prefixes) for f in fields):
            return None
    raise AssertionError(
        f"schema-valid data was refused with {code}: {body.get('errors')} "
        "(a rule the document does not state)"
    )
