"""One router per resource; the app includes every router listed here."""

from fastapi import APIRouter

from gateway.routes import (
    customer_view,
    customers,
    dashboard,
    export,
    health,
    identity,
    live,
    notes,
    reference,
    tags,
    timeline,
)

ROUTERS: list[APIRouter] = [
    health.router,
    reference.router,
    customer_view.router,
    customers.router,
    tags.router,
    notes.router,
    live.router,
    timeline.router,
    identity.router,
    export.router,
    dashboard.router,
]
