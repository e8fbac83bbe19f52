"""Tests of the insights service."""
