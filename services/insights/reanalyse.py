"""Analyse conversations again, e.g. after switching to an LLM.

python -m services.insights.reanalyse --workspace W [--customer C] [--degraded-only] [--rate 5/s] [--wait]

For each conversation insights has analysed (its own table), it publishes a
`reanalysis.requested` event on the INSIGHTS stream, at most `--rate` per second. The service
consumes those exactly as it consumes a close: durably (the command may exit, a replica may
restart), shared among replicas, retried and dead-lettered by the same consumer base, with the
message kept alive during a slow LLM call. Running it again is safe: each conversation keeps one
analysis row, which the newer analysis replaces, and its old contribution to the AI profile is
withdrawn before the new one is merged. `--wait` then follows the analyses until all are done.
"""

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg
from nats.js import JetStreamContext

from services.insights import repository
from services.insights.config import Settings
from shared.db import create_pool, database_url_for
from shared.events import utcnow
from shared.messages.insights import REANALYSIS_REQUESTED, SERVICE, ReanalysisRequested
from shared.nats import connect
from shared.outbox import publish_now
from shared.subjects import WORKSPACE_PATTERN

Progress = Callable[[str, int, int], None]


def parse_rate(text: str) -> float:
    """Events per second from "N" or "N/s"."""
    value = float(text.strip().removesuffix("/s"))
    if not value > 0:
        raise ValueError("rate must be positive")
    return value


async def request_reanalysis(
    pool: asyncpg.Pool,
    js: JetStreamContext,
    *,
    workspace: str,
    customer_id: str | None = None,
    degraded_only: bool = False,
    rate: float = 5.0,
    progress: Progress | None = None,
) -> list[repository.AnalysedConversation]:
    """Publish one reanalysis request per selected conversation, paced at `rate` per second."""
    selected = await repository.analysed_conversations(
        pool, workspace, customer_id=customer_id, degraded_only=degraded_only
    )
    run = uuid.uuid4().hex[:12]
    interval = 1.0 / rate
    next_at = time.monotonic()
    for done, conversation in enumerate(selected, start=1):
        pause = next_at - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        next_at = max(next_at, time.monotonic()) + interval
        data = ReanalysisRequested(
            conversation_id=conversation.conversation_id,
            customer_id=conversation.customer_id,
            platform=conversation.platform,
            requested_at=utcnow(),
        )
        await publish_now(
            js,
            REANALYSIS_REQUESTED,
            workspace,
            data,
            event_id=f"reanalysis:{run}:{conversation.conversation_id}",
        )
        if progress is not None:
            progress("requested", done, len(selected))
    return selected


async def wait_for_reanalysis(
    pool: asyncpg.Pool,
    workspace: str,
    conversations: Sequence[repository.AnalysedConversation],
    since: datetime,
    *,
    timeout: float,
    progress: Progress | None = None,
) -> int:
    """Follow the analyses until each selected conversation was analysed after `since`."""
    ids = [c.conversation_id for c in conversations]
    deadline = time.monotonic() + timeout
    done = -1
    while True:
        now_done = await pool.fetchval(
            "SELECT count(*) FROM conversation_analyses "
            "WHERE workspace = $1 AND conversation_id = ANY($2::text[]) AND analysed_at >= $3",
            workspace,
            ids,
            since,
        )
        if now_done != done and progress is not None:
            progress("analysed", now_done, len(ids))
        done = now_done
        if done >= len(ids) or time.monotonic() > deadline:
            return int(done)
        await asyncio.sleep(0.5)


def _print_progress(stage: str, done: int, total: int) -> None:
    share = 100.0 * done / total if total else 100.0
    sys.stderr.write(f"\r{stage}: {done}/{total} ({share:.0f}%)")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _main(args: argparse.Namespace) -> int:
    settings = Settings()
    url = settings.service_database_url or database_url_for(settings.database_url, SERVICE)
    pool = await create_pool(url, max_size=2)
    nc = await connect(settings.nats_url, "insights-reanalyse", settings.nats_user, settings.nats_password)
    try:
        since = utcnow()
        selected = await request_reanalysis(
            pool,
            nc.jetstream(),
            workspace=args.workspace,
            customer_id=args.customer,
            degraded_only=args.degraded_only,
            rate=args.rate,
            progress=_print_progress,
        )
        if not selected:
            sys.stderr.write("nothing to reanalyse\n")
            return 0
        if args.wait:
            done = await wait_for_reanalysis(
                pool, args.workspace, selected, since, timeout=args.timeout, progress=_print_progress
            )
            if done < len(selected):
                sys.stderr.write(f"\n{len(selected) - done} not analysed within {args.timeout:.0f}s\n")
                return 1
        return 0
    finally:
        await nc.close()
        await pool.close()


def _workspace(value: str) -> str:
    if not WORKSPACE_PATTERN.match(value):
        raise argparse.ArgumentTypeError("not a workspace id")
    return value


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m services.insights.reanalyse",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--workspace", required=True, type=_workspace)
    parser.add_argument("--customer", help="only this customer's conversations")
    parser.add_argument("--degraded-only", action="store_true", help="only analyses made by the fallback")
    parser.add_argument("--rate", type=parse_rate, default=5.0, help="requests per second, e.g. 10/s")
    parser.add_argument("--wait", action="store_true", help="follow the analyses until all are done")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait waits at most")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
