"""Hooks of the schemathesis run (tests/gateway/test_schemathesis.py loads them by name).

- The custom `phone` format of PATCH /v1/customers/{id} draws real numbers (libphonenumber's
  examples of every region) written the ways staff type them, which its pattern alone would not.
- One failure is the contract's and is dropped: a well-formed cursor this server never issued
  answers 422 (CONTRACT.md §3), though its shape is valid. Nothing else is.
"""

from typing import Any

import phonenumbers
import schemathesis
from hypothesis import strategies as st
from schemathesis.openapi.checks import RejectedPositiveData

from gateway.pagination import NOT_ISSUED

_NUMBERS = [
    number
    for number in (phonenumbers.example_number(region) for region in sorted(phonenumbers.SUPPORTED_REGIONS))
    if number is not None
]
_STYLES = [
    lambda n: phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164),
    lambda n: phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    lambda n: "00" + phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)[1:],
]

schemathesis.openapi.format(
    "phone",
    st.builds(lambda number, style: style(number), st.sampled_from(_NUMBERS), st.sampled_from(_STYLES)),
)


def _is_unissued_cursor_refusal(case: schemathesis.Case[Any], response: Any) -> bool:
    if response.status_code != 422 or not (case.query or {}).get("cursor"):
        return False
    try:
        errors = response.json().get("errors")
    except ValueError:
        return False
    return bool(errors == [{"field": "cursor", "message": NOT_ISSUED}])


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: schemathesis.Case[Any], response: Any) -> bool:
    """Keep every failure but "valid data refused" by a 422 naming only a cursor the server never issued."""
    return not (isinstance(failure, RejectedPositiveData) and _is_unissued_cursor_refusal(case, response))
