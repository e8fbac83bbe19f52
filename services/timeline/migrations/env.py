"""Alembic environment of the timeline service."""

from shared.migrations import run_env

run_env()
