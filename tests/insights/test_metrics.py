"""What insights measures: each analysis timed by analyser, the degraded ones counted."""

import functools

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from services.insights.handlers import CLOSED_CONSUMER
from tests.insights.conftest import InsightsStarter
from tests.insights.support import (
    ChatCompletionsServer,
    Reply,
    analysis_answer,
    closed_event,
    labelled,
    publish_closed,
)
from tests.insights.test_insights_service import acked
from tests.support import growth, new_workspace, scrape, wait_for


async def test_analyses_are_timed_by_analyser_and_the_degraded_ones_counted(
    start_insights: InsightsStarter, js: JetStreamContext, nc: NATS, chat_server: ChatCompletionsServer
) -> None:
    # The LLM is down for the first close (the embedded analyser stands in), back for the second.
    chat_server.answer(Reply(status=503), Reply(analysis_answer(score=0.5)))
    runtime, timeline = await start_insights(
        openai_base_url=chat_server.url,
        openai_max_retries=0,
        openai_cooldown_seconds=0,
        openai_timeout_seconds=5,
    )
    before = await scrape(runtime.admin.url)
    ws = new_workspace()
    for n, label in enumerate(("neg-damaged-item", "pos-express-upgrade"), start=1):
        timeline.add(ws, f"conv-{n}", "hana", labelled(label))
        await publish_closed(js, closed_event(ws, f"conv-{n}", "hana"))
        await wait_for(
            functools.partial(acked, js, "TIMELINE", CLOSED_CONSUMER, n), what=f"close {n} applied"
        )
    after = await scrape(runtime.admin.url)
    timed = "insights_analysis_duration_seconds_count"
    assert growth(before, after, timed, analyser="embedded") == 1
    assert growth(before, after, timed, analyser="llm") == 1
    assert growth(before, after, "insights_degraded_analyses_total") == 1
