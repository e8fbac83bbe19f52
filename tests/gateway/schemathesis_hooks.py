"""Hooks of the schemathesis run (tests/gateway/test_schemathesis.py loads them by name).

- The custom `phone` format of PATCH /v1/customers/{id} draws real numbers (libphonenumber's
  examples of every region) written the ways staff type them, which its pattern alone would not.
- An erasure never takes a customer the other operations read (SCHEMATHESIS_KEEP): drawn, it erases
  one of the customers seeded for it (SCHEMATHESIS_DOOMED) instead, so the run's notes, cursors and
  views keep real data to reach.
- Two failures are the contract's and are dropped, though the request's shape is valid: a
  well-formed cursor this server never issued answers 422 (CONTRACT.md §3), and so does merging a
  customer into itself (§7), which the coverage phase draws by giving both ids the same boundary
  value. Nothing else is.
"""

import itertools
import os
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


def _is_self_merge_refusal(case: schemathesis.Case[Any], response: Any) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    same = body.get("source_id") is not None and body.get("source_id") == (case.path_parameters or {}).get(
        "customer_id"
    )
    return bool(same and response.status_code == 422 and case.path.endswith("/merge"))


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: schemathesis.Case[Any], response: Any) -> bool:
    """Keep every failure but "valid data refused" by the contract's own 422s: a cursor the server
    never issued, a customer merged into itself."""
    return not (
        isinstance(failure, RejectedPositiveData)
        and (_is_unissued_cursor_refusal(case, response) or _is_self_merge_refusal(case, response))
    )


_KEEP = set(filter(None, os.environ.get("SCHEMATHESIS_KEEP", "").split(",")))
_DOOMED = itertools.cycle(list(filter(None, os.environ.get("SCHEMATHESIS_DOOMED", "").split(","))) or [""])


@schemathesis.hook
def map_case(context: Any, case: schemathesis.Case[Any]) -> schemathesis.Case[Any]:
    """An erasure of a customer to keep erases one seeded to be erased."""
    ids = case.path_parameters or {}
    erasing = case.method.upper() == "DELETE" and case.path == "/v1/customers/{customer_id}"
    if erasing and str(ids.get("customer_id")) in _KEEP:
        case.path_parameters = {**ids, "customer_id": next(_DOOMED)}
    return case
