"""Reference lists the dashboard's dropdowns use."""

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from gateway.auth import current_principal
from gateway.routes.problems import problem_responses
from shared.reference import countries, languages

router = APIRouter(
    prefix="/v1/reference",
    tags=["reference"],
    dependencies=[Depends(current_principal)],
    responses=problem_responses(),
)


class ReferenceItem(BaseModel):
    """One code and its name."""

    code: str
    name: str


class ReferenceList(BaseModel):
    """A reference list."""

    items: list[ReferenceItem]


@router.get("/languages")
async def list_languages() -> ReferenceList:
    """BCP 47 primary language codes."""
    return ReferenceList(items=[ReferenceItem(code=c, name=n) for c, n in languages().items()])


@router.get("/countries")
async def list_countries() -> ReferenceList:
    """ISO 3166-1 alpha-2 country codes."""
    return ReferenceList(items=[ReferenceItem(code=c, name=n) for c, n in countries().items()])
