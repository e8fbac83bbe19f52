"""Tests of the profile service."""
