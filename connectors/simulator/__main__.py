"""`python -m connectors.simulator {seed,live}`: simulated customers, published as a connector must."""

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from connectors.simulator.app import LiveRun, run_live, run_seed
from connectors.simulator.config import ConfigError, connector_url
from connectors.simulator.publisher import ConnectorError, Publisher
from connectors.simulator.traffic import LiveTraffic, iter_histories
from shared.subjects import WORKSPACE_PATTERN, chat_subject

DESCRIPTION = """\
A reference connector: simulated customers chatting with an AI agent and staff on WhatsApp,
Instagram and the web widget, in English, Arabic, Spanish and French, published to the system
exactly as a platform connector must (CONTRACT.md §5). Its publisher module
(connectors/simulator/publisher.py) is the part to copy; the guide is docs/connectors.md.

How a connector publishes:
  subject    chat.v1.<workspace>.<type>, type one of contact.seen, conversation.started,
             conversation.message, conversation.escalated, escalation.handled, conversation.closed
  body       JSON: event_id (unique for ever), occurred_at (RFC 3339 with offset), platform
             (whatsapp | instagram | web), platform_user_id (E.164 number | Instagram username |
             widget visitor id), and the fields of its type (docs/asyncapi/profile.json)
  fields     contact.seen            display_name, avatar_url (http/https), instagram {username,
                                     followers, follow_status}: all optional
             conversation.started    conversation_id
             conversation.message    conversation_id, message_id, sender (customer | ai | human),
                                     sender_name, text
             conversation.escalated  conversation_id, escalation_id, reason
             escalation.handled      conversation_id, escalation_id, handled_by
             conversation.closed     conversation_id, resolved_by {type: ai | human, name}
  header     Nats-Msg-Id: <event_id>
  delivery   an event is delivered when JetStream acknowledges it; with no ack within
             --ack-timeout it is published again with the SAME id, until one comes
  order      none needed: duplicates change nothing and any order converges
  URL        --nats-url, else $NATS_CONNECTOR_URL, else $NATS_URL (nats://<user>:<password>@host:port)
  inbox      requests and acks use the reply inbox _INBOX.<user>

Exit status: 0 when every event was acknowledged; 1 when interrupted before that; 2 for bad
options, an unreachable NATS, refused credentials or no stream capturing chat.v1.>.

Examples (with .run/env sourced: set -a; . .run/env; set +a):
  python -m connectors.simulator seed --workspace demo --customers 50 --weeks 6
  python -m connectors.simulator live --workspace demo --rate 20 --duration 5m
  python -m connectors.simulator seed --customers 1 --dry-run     # the messages, not published
"""

SEED_HELP = """\
Publish the histories of --customers customers over the past --weeks: contact.seen with names,
avatars and Instagram details, conversations on every topic and outcome, escalations and closes.
Deterministic: the same --seed publishes the same customers and event ids, so running it again
changes nothing, and a larger --customers adds customers without changing the first ones.
"""

LIVE_HELP = """\
Publish conversations unfolding in real time at --rate events/s for --duration: returning
customers of the seed's population and new ones. A progress line every second: events sent,
acknowledged, retried, in flight, publish-to-ack latency p50/p99. Ctrl+C stops it after the
acks in flight. The traffic follows --seed; event ids are scoped by --run (a new one per run
unless given), so each run adds conversations and repeating --seed and --run repeats its ids.
"""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")


def _workspace(value: str) -> str:
    if not WORKSPACE_PATTERN.match(value):
        raise argparse.ArgumentTypeError("a workspace is 1-64 letters, digits, '-' or '_'")
    return value


def _rate(value: str) -> float:
    text = value.removesuffix("/s")
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a rate: {value!r} (events per second, e.g. 20 or 20/s)"
        ) from None
    if not 0 < rate <= 100_000:
        raise argparse.ArgumentTypeError("the rate is between 0 and 100000 events/s")
    return rate


def _duration(value: str) -> float:
    match = _DURATION.match(value.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"not a duration: {value!r} (e.g. 90, 90s, 5m, 1h; 0 runs until Ctrl+C)"
        )
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"between {low} and {high}")
        return number

    return parse


def parser() -> argparse.ArgumentParser:
    """The command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--workspace", type=_workspace, default="demo", help="workspace to publish to (demo)")
    common.add_argument("--seed", type=int, default=1, help="what to simulate: same seed, same traffic (1)")
    common.add_argument(
        "--nats-url",
        help="NATS URL with connector credentials (default: $NATS_CONNECTOR_URL, else $NATS_URL)",
    )
    common.add_argument(
        "--ack-timeout",
        type=float,
        default=2.0,
        help="seconds to wait for JetStream's ack before publishing again (2)",
    )
    common.add_argument(
        "--connect-timeout", type=float, default=5.0, help="seconds to reach NATS at start (5)"
    )
    formatter = argparse.RawDescriptionHelpFormatter
    top = argparse.ArgumentParser(
        prog="python -m connectors.simulator", description=DESCRIPTION, formatter_class=formatter
    )
    modes = top.add_subparsers(dest="mode", required=True, metavar="{seed,live}")

    def mode(name: str, summary: str, description: str) -> argparse.ArgumentParser:
        return modes.add_parser(
            name, parents=[common], help=summary, description=description, formatter_class=formatter
        )

    seed = mode("seed", "publish customers' histories", SEED_HELP)
    seed.add_argument("--customers", type=_bounded(1, 100_000), default=50, help="how many customers (50)")
    seed.add_argument("--weeks", type=_bounded(1, 52), default=6, help="how far back histories go (6)")
    seed.add_argument(
        "--concurrency", type=_bounded(1, 1024), default=16, help="customers published at once (16)"
    )
    seed.add_argument(
        "--dry-run", action="store_true", help="print the messages as JSON lines instead of publishing"
    )
    live = mode("live", "publish conversations as they happen", LIVE_HELP)
    live.add_argument("--rate", type=_rate, default=10.0, help="events per second, e.g. 50 or 50/s (10)")
    live.add_argument(
        "--duration", type=_duration, default=60.0, help="how long: 90, 90s, 5m, 1h; 0 until Ctrl+C (60s)"
    )
    live.add_argument(
        "--customers",
        type=_bounded(0, 100_000),
        default=50,
        help="returning customers: the seed's first N (50)",
    )
    live.add_argument("--run", default=None, help="scope of this run's event ids (default: a new random one)")
    return top


def _say(line: str) -> None:
    print(line, flush=True)


def _dry_run(args: argparse.Namespace) -> int:
    for history in iter_histories(args.workspace, args.seed, args.customers, args.weeks, datetime.now(UTC)):
        for event in history.events:
            message = {
                "subject": chat_subject(args.workspace, event.type),
                "headers": {"Nats-Msg-Id": event.event_id},
                "data": event.body,
            }
            print(json.dumps(message, ensure_ascii=False))
    return 0


async def _main(args: argparse.Namespace, url: str) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    publisher = await Publisher.connect(
        url,
        name=f"connector-simulator-{args.mode}",
        ack_timeout=args.ack_timeout,
        connect_timeout=args.connect_timeout,
        notice=_say,
    )
    _say(f"connected to {publisher.target.shown} as {publisher.target.user or 'anonymous'}")
    try:
        if args.mode == "seed":
            _say(
                f"seed {args.seed}: {args.customers} customers over the past {args.weeks} weeks "
                f"to chat.v1.{args.workspace}.*"
            )
            histories = iter_histories(
                args.workspace, args.seed, args.customers, args.weeks, datetime.now(UTC)
            )
            published = await run_seed(
                publisher, args.workspace, histories, stop=stop, say=_say, concurrency=args.concurrency
            )
            complete = published.customers == args.customers
        else:
            run = args.run or secrets.token_hex(4)
            _say(f"live run {run} (seed {args.seed}): {args.rate:g} events/s to chat.v1.{args.workspace}.*")
            traffic = LiveTraffic(args.workspace, args.seed, run, args.customers)
            live = LiveRun(publisher, args.workspace, traffic, args.rate, args.duration)
            await run_live(live, stop=stop, say=_say)
            complete = True
    finally:
        await publisher.close()
    missing = publisher.stats.sent - publisher.stats.acked
    if missing or not complete:
        again = "; the same command publishes the rest (same ids)" if args.mode == "seed" else ""
        _say(f"interrupted: {missing} events in flight not acknowledged{again}")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status."""
    args = parser().parse_args(argv)
    if args.mode == "seed" and args.dry_run:
        return _dry_run(args)
    url = args.nats_url or connector_url(os.environ)
    if not url:
        print("simulator: no NATS URL: pass --nats-url or set NATS_CONNECTOR_URL", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_main(args, url))
    except (ConfigError, ConnectorError) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
