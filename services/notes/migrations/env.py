"""Alembic environment of the notes service."""

from shared.migrations import run_env

run_env()
