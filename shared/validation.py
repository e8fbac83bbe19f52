"""Input rules shared by every edge, and how a rule documents itself in the JSON Schema.

A rule is one function that raises ValueError with the contract's message. `Checked` attaches it to
a pydantic field together with the JSON Schema keywords that say the same thing, derived from the
rule's own parameters, so that the OpenAPI and AsyncAPI documents admit exactly what the rule
accepts (tests/shared/test_validation.py holds each pair to it).

Patterns are written for every regex dialect a reader may use (Python, ECMA-262, Rust): code points
as `\\uXXXX` escapes, white space spelt out rather than `\\s`, whose meaning differs between them.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

Keywords = dict[str, Any]


@dataclass(frozen=True)
class Checked:
    """Validates a field with `rule` (its ValueError's message is the error's) and documents it with
    `schema`, which turns the JSON Schema of the field's type into one that admits what `rule` accepts."""

    rule: Callable[[Any], object]
    schema: Callable[[Keywords], Keywords]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def _check(self, value: Any) -> Any:
        try:
            self.rule(value)
        except ValueError as exc:
            # The rule's own message, without pydantic's "Value error, " in front of it.
            raise PydanticCustomError("invalid", "{reason}", {"reason": str(exc)}) from None
        return value

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return self.schema(handler(schema))


@dataclass(frozen=True)
class NullUndocumented:
    """Documents an optional field without its null: a null gets through to the service, whose rule
    refuses it with the contract's message (e.g. "cannot be cleared")."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        branches = [branch for branch in handler(schema)["anyOf"] if branch != {"type": "null"}]
        return branches[0] if len(branches) == 1 else {"anyOf": branches}


def adding(keywords: Callable[[], Keywords]) -> Callable[[Keywords], Keywords]:
    """A `Checked.schema` that adds `keywords()` to the type's schema (computed when documented)."""
    return lambda base: {**base, **keywords()}


def _char(code: int) -> str:
    return f"\\u{code:04x}"


def char_class(codes: Iterable[int], *, negated: bool = False) -> str:
    """A regex character class of `codes` (BMP code points), consecutive ones as ranges."""
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    body = "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)
    return f"[{'^' if negated else ''}{body}]"


NUL = 0


@cache
def spaces() -> tuple[int, ...]:
    """The code points str.strip() removes (Unicode has no white space outside the BMP)."""
    return tuple(code for code in range(0x10000) if chr(code).isspace())


@cache
def space() -> str:
    """The class of white space that trimming removes."""
    return char_class(spaces())


def padded(core: str) -> str:
    """A pattern of `core` with any white space around it (what a rule that trims accepts)."""
    return f"^{space()}*(?:{core}){space()}*$"


def no_nul(value: str) -> str:
    """Reject U+0000 and lone surrogates: PostgreSQL cannot store them and they are never meaningful."""
    if "\x00" in value:
        raise ValueError("must not contain U+0000")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


NO_NUL_PATTERN = f"^{char_class([NUL], negated=True)}*$"

# Lone surrogates are not Unicode text: JSON Schema strings cannot hold them, so no keyword says so.
Text = Annotated[str, Checked(no_nul, adding(lambda: {"pattern": NO_NUL_PATTERN}))]


def trimmed(value: str, max_chars: int) -> str:
    """`value` without surrounding white space: 1 to `max_chars` characters (code points, not bytes)."""
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > max_chars:
        raise ValueError(f"must be at most {max_chars} characters")
    return text


@cache
def trimmed_pattern(max_chars: int, *, blank: bool = False) -> str:
    """The strings that hold 1 to `max_chars` characters once trimmed, no U+0000 (or blank ones)."""
    edge = char_class([*spaces(), NUL], negated=True)
    inner = char_class([NUL], negated=True)
    text = f"{edge}(?:{inner}{{0,{max_chars - 2}}}{edge})?"
    return padded(f"(?:{text})?" if blank else text)


def trimmed_text(max_chars: int) -> Checked:
    """A field of text with 1 to `max_chars` characters after trimming (whose service trims it)."""

    def rule(value: str) -> str:
        return trimmed(value, max_chars)

    return Checked(
        rule,
        adding(
            lambda: {
                "pattern": trimmed_pattern(max_chars),
                "description": f"1 to {max_chars} characters (code points) once trimmed",
            }
        ),
    )
