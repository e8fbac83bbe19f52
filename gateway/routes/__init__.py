"""One router per resource; the app includes every router listed here."""

from fastapi import APIRouter

from gateway.routes import customer_view, health, live, notes, reference

ROUTERS: list[APIRouter] = [
    health.router,
    reference.router,
    customer_view.router,
    notes.router,
    live.router,
]
