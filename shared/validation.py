"""Input rules shared by every edge: text never holds U+0000."""

from typing import Annotated

from pydantic import AfterValidator


def no_nul(value: str) -> str:
    """Reject U+0000 and lone surrogates: PostgreSQL cannot store them and they are never meaningful."""
    if "\x00" in value:
        raise ValueError("must not contain U+0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(no_nul)]
