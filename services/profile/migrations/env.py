"""Alembic environment of the profile service."""

from shared.migrations import run_env

run_env()
