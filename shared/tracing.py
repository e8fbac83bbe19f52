"""Traces: the W3C trace context carried in HTTP and NATS headers, spans exported over OTLP/HTTP.

With OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) set, each process records its spans and a
background thread exports them (the exporter, sampler and batching read the standard OTEL_*
variables). Without it no SDK is installed: OpenTelemetry's no-op tracer costs next to nothing
and still hands an incoming trace context on unchanged, so a caller's `traceparent` reaches every
request and event its request causes whether or not this system records spans.
"""

from collections.abc import Iterable, Mapping, Sequence

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ParentBased
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from shared.config import CommonSettings

__all__ = [
    "Attributes",
    "Headers",
    "Span",
    "SpanKind",
    "configure_tracing",
    "failed",
    "flush",
    "inject",
    "links_to",
    "span",
    "unsampled_child",
]

TRACER = trace.get_tracer("customer-profile")

Headers = Mapping[str, str]
Attributes = Mapping[str, AttributeValue]

_exporting = False
# Set when the sampler follows the parent's decision: span() then makes the spans of an unsampled
# trace itself, with these ids (see unsampled_child).
_unsampled_ids: IdGenerator | None = None


def configure_tracing(service: str, settings: CommonSettings) -> None:
    """Record and export this process's spans if an OTLP endpoint is set (flushed at exit)."""
    global _exporting, _unsampled_ids
    if not settings.exports_traces:
        return
    _exporting = True
    # The sampler, exporter and batching come from the standard OTEL_* variables.
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "service.namespace": "customer-profile"})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    # Every parentbased_* sampler OTEL_TRACES_SAMPLER names (the SDK's default among them) drops
    # a span whose parent was not sampled; other samplers may not, so they keep the SDK's path.
    _unsampled_ids = provider.id_generator if isinstance(provider.sampler, ParentBased) else None


def flush() -> None:
    """Export the spans still buffered, now (a gateway worker about to end)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.force_flush()


def inject(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the current trace context added (traceparent, tracestate)."""
    propagate.inject(headers)
    return headers


class ActiveSpan:
    """A started span: current while its block runs, ended when the block leaves."""

    __slots__ = ("_span", "_token")

    def __init__(self, started: Span) -> None:
        self._span = started

    def __enter__(self) -> Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span))
        return self._span

    def __exit__(self, *_exc: object) -> None:
        otel_context.detach(self._token)
        self._span.end()


def span(
    name: str,
    kind: SpanKind = SpanKind.INTERNAL,
    *,
    parent: Headers | None = None,
    links: Sequence[Link] = (),
    attributes: Attributes | None = None,
) -> ActiveSpan:
    """A span current inside the `with` block; `parent`: headers whose trace context it continues.

    An exception leaving the block does not mark the span failed by itself: most are answers
    (not found, invalid input), so the code that knows marks its faults with `failed`.
    """
    context = propagate.extract(parent) if parent is not None else None
    if _unsampled_ids is not None:
        parent_context = trace.get_current_span(context).get_span_context()
        if parent_context.is_valid and not parent_context.trace_flags.sampled:
            return ActiveSpan(unsampled_child(parent_context, _unsampled_ids))
    # start_span and a plain context manager, not start_as_current_span inside a generator-based
    # one: those nested generators cost more than the span itself (a span took 20 µs that way and
    # 5 µs this way without an SDK; 33 and 15 µs with one sampling 1 in 10; docs/benchmarks.md).
    return ActiveSpan(
        TRACER.start_span(
            name,
            context=context,
            kind=kind,
            attributes=attributes,
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        )
    )


def unsampled_child(parent: SpanContext, ids: IdGenerator) -> Span:
    """The span a parent-based sampler makes under a parent it did not sample: it records nothing
    and continues the parent's trace (id, flags, state) with an id of its own.

    The SDK's start_span builds the same span for ~15 µs (sampler, sampling result, decision), in
    9 of 10 spans at one trace in ten, on every RPC and event (docs/benchmarks.md).
    """
    return NonRecordingSpan(
        SpanContext(
            parent.trace_id,
            ids.generate_span_id(),
            is_remote=False,
            trace_flags=parent.trace_flags,
            trace_state=parent.trace_state,
        )
    )


def links_to(carriers: Iterable[Headers | None]) -> list[Link]:
    """Links to the spans whose contexts these headers carry (none while spans are not recorded)."""
    if not _exporting:
        return []
    contexts = (
        trace.get_current_span(propagate.extract(headers or {})).get_span_context() for headers in carriers
    )
    return [Link(context) for context in contexts if context.is_valid]


def failed(current: Span, description: str) -> None:
    """Mark a span as failed (a fault of ours, not a refusal of bad input)."""
    current.set_status(Status(StatusCode.ERROR, description))
