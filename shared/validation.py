"""Input rules shared by every edge: text never holds U+0000."""

from typing import Annotated

from pydantic import AfterValidator


def no_nul(value: str) -> str:
    """Reject text containing U+0000 (PostgreSQL cannot store it; it is never meaningful)."""
    if "\x00" in value:
        raise ValueError("must not contain U+0000")
    return value


Text = Annotated[str, AfterValidator(no_nul)]
