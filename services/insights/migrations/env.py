"""Alembic environment of the insights service."""

from shared.migrations import run_env

run_env()
