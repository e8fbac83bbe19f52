"""One router per resource; the app includes every router listed here."""

from fastapi import APIRouter

from gateway.routes import customer_view, health, reference

ROUTERS: list[APIRouter] = [
    health.router,
    reference.router,
    customer_view.router,
]
