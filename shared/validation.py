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


def trimmed(value: str, max_chars: int) -> str:
    """`value` without surrounding white space: 1 to `max_chars` characters (code points, not bytes)."""
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > max_chars:
        raise ValueError(f"must be at most {max_chars} characters")
    return text
