"""Tests of the timeline service."""
