"""Alembic environment of the test probe service."""

from shared.migrations import run_env

run_env()
