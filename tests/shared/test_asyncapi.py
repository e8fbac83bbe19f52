"""The committed AsyncAPI documents match the code (regenerate with `make docs`)."""

from pathlib import Path

from shared.asyncapi import SERVICES, document, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"


def test_committed_documents_are_current() -> None:
    for service in SERVICES:
        assert (DOCS / f"{service.name}.json").read_text() == render(service), (
            f"docs/asyncapi/{service.name}.json is stale: run `make docs`"
        )


def test_every_operation_a_service_answers_is_documented() -> None:
    profile = document(next(s for s in SERVICES if s.name == "profile"))
    addresses = {channel["address"] for channel in profile["channels"].values()}
    assert "agent.v1.{workspace}.context" in addresses
    assert "chat.v1.{workspace}.conversation.closed" in addresses
    assert "profile.v1.{workspace}.customer.updated" in addresses
    assert all(op["channel"]["$ref"].startswith("#/channels/") for op in profile["operations"].values())
