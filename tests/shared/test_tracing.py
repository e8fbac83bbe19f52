"""Trace context: carried from an event into the events its handling causes; trace ids in log lines."""

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from shared.logging import add_trace_context
from shared.runtime import ServiceRuntime
from shared.tracing import span
from tests.shared import probe
from tests.support import connector_event, new_traceparent, new_workspace, publish_event, wait_for


def test_a_log_line_carries_the_trace_and_span_it_was_logged_in() -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as current:
        line = add_trace_context(None, "info", {"event": "something_happened"})
    context = current.get_span_context()
    assert (line["trace_id"], line["span_id"]) == (f"{context.trace_id:032x}", f"{context.span_id:016x}")


def test_a_log_line_outside_any_span_has_no_trace_ids() -> None:
    assert add_trace_context(None, "info", {"event": "started"}) == {"event": "started"}


def test_a_span_is_current_in_its_block_and_no_longer_once_the_block_raised() -> None:
    trace_id, traceparent = new_traceparent()
    with pytest.raises(LookupError), span("work", parent={"traceparent": traceparent}) as current:
        inside = trace.get_current_span()
        raise LookupError
    assert inside is current
    assert f"{inside.get_span_context().trace_id:032x}" == trace_id
    assert not trace.get_current_span().get_span_context().is_valid


async def test_a_connectors_traceparent_reaches_the_events_its_handling_causes(
    runtime: ServiceRuntime, js: JetStreamContext
) -> None:
    """No exporter configured: the context is handed on unchanged through consumer, outbox and relay."""
    _, traceparent = new_traceparent()
    ws = new_workspace()
    event = connector_event("web", "traced-visitor", display_name="Traced")
    await publish_event(js, ws, "contact.seen", event, headers={"traceparent": traceparent})

    async def announced() -> str | None:
        try:
            stored = await js.get_last_msg("PROBE", probe.CONTACT_APPLIED.subject(ws))
        except NotFoundError:
            return None
        return (stored.headers or {}).get("traceparent")

    assert await wait_for(announced, what="the probe's event published") == traceparent
