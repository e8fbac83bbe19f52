"""Trace context: carried from an event into the events its handling causes; trace ids in log lines."""

import pytest
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

from shared.logging import add_trace_context
from shared.runtime import ServiceRuntime
from shared.tracing import span, unsampled_child
from tests.shared import probe
from tests.support import (
    connector_event,
    new_traceparent,
    new_workspace,
    publish_event,
    run_python,
    wait_for,
)


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


def test_a_span_under_an_unsampled_parent_is_the_one_the_sdks_sampler_makes() -> None:
    provider = TracerProvider(sampler=ParentBasedTraceIdRatio(0.5))
    trace_id, traceparent = new_traceparent()
    parent = propagate.extract({"traceparent": traceparent.removesuffix("-01") + "-00"})
    parent_context = trace.get_current_span(parent).get_span_context()
    made = unsampled_child(parent_context, provider.id_generator)
    by_sdk = provider.get_tracer("test").start_span("work", context=parent)

    def seen(started: trace.Span) -> tuple[object, ...]:
        context = started.get_span_context()
        return (
            started.is_recording(),
            context.trace_id,
            context.trace_flags,
            context.trace_state,
            context.is_remote,
        )

    assert (
        seen(made)
        == seen(by_sdk)
        == (
            False,
            int(trace_id, 16),
            parent_context.trace_flags,
            parent_context.trace_state,
            False,
        )
    )
    assert made.get_span_context().span_id not in (0, parent_context.span_id)


def test_a_process_exporting_spans_records_sampled_traces_only() -> None:
    printed = run_python(
        """
        import os
        from shared.config import CommonSettings
        from shared.tracing import configure_tracing, span

        configure_tracing("test", CommonSettings())
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        for flags in ("00", "01"):
            with span("work", parent={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-{flags}"}) as current:
                same_trace = f"{current.get_span_context().trace_id:032x}" == trace_id
                print(type(current).__name__, current.is_recording(), same_trace, flush=True)
        # Nothing to export: the sampled span would be sent to the endpoint below at exit.
        os._exit(0)
        """,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1",
        OTEL_TRACES_SAMPLER="parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG="0",
    )
    assert printed.splitlines() == ["NonRecordingSpan False True", "_Span True True"]
