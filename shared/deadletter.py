"""Operator view of the dead-letter streams: list what was set aside, replay it.

python -m shared.deadletter list   [--service profile]
python -m shared.deadletter replay --service profile (--seq N ... | --all)
"""

import argparse
import asyncio
import sys
from dataclasses import asdict, dataclass

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from shared.config import CommonSettings
from shared.jsonutil import dumps
from shared.logging import configure_logging
from shared.nats import connect
from shared.registry import SERVICE_NAMES
from shared.subjects import dead_letter_stream


@dataclass(frozen=True)
class DeadLetter:
    """One event set aside by a consumer."""

    service: str
    seq: int
    consumer: str
    original_subject: str
    original_stream_seq: int
    deliveries: int
    reason: str
    data: str


def _letter(service: str, seq: int, raw: RawStreamMsg) -> DeadLetter:
    headers = raw.headers or {}
    return DeadLetter(
        service=service,
        seq=seq,
        consumer=headers.get("Dlq-Consumer", ""),
        original_subject=headers.get("Dlq-Original-Subject", ""),
        original_stream_seq=int(headers.get("Dlq-Stream-Seq", "0")),
        deliveries=int(headers.get("Dlq-Deliveries", "0")),
        reason=headers.get("Dlq-Reason", ""),
        data=(raw.data or b"").decode("utf-8", "replace"),
    )


async def list_dead_letters(js: JetStreamContext, service: str) -> list[DeadLetter]:
    """Every dead letter a service holds, oldest first."""
    stream = dead_letter_stream(service)
    try:
        info = await js.stream_info(stream)
    except NotFoundError:
        return []
    letters: list[DeadLetter] = []
    if info.state.messages == 0:
        return letters
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            letters.append(_letter(service, seq, await js.get_msg(stream, seq)))
        except NotFoundError:
            continue
    return letters


async def replay(js: JetStreamContext, service: str, seq: int) -> DeadLetter:
    """Publish a dead letter back to its original subject, then remove it from the dead letters."""
    stream = dead_letter_stream(service)
    raw = await js.get_msg(stream, seq)
    letter = _letter(service, seq, raw)
    # A fresh Nats-Msg-Id: the original one may still be inside the stream's dedup window.
    # Consumers that already applied the event skip it through their inbox. The bytes go back
    # as they came, even ones that are not text.
    await js.publish(
        letter.original_subject, raw.data or b"", headers={"Nats-Msg-Id": f"replay:{stream}:{seq}"}
    )
    await js.delete_msg(stream, seq)
    return letter


async def _main(args: argparse.Namespace) -> int:
    settings = CommonSettings()
    # Logs to stderr: stdout is the dead letters, one JSON line each, for other tools to read.
    configure_logging("deadletter-cli", settings.log_level)
    nc = await connect(settings.nats_url, "deadletter-cli", settings.nats_user, settings.nats_password)
    js = nc.jetstream()
    try:
        services = [args.service] if args.service else list(SERVICE_NAMES)
        if args.command == "list":
            for service in services:
                for letter in await list_dead_letters(js, service):
                    sys.stdout.write(dumps(asdict(letter)).decode() + "\n")
            return 0
        if not args.service:
            sys.stderr.write("replay needs --service\n")
            return 2
        seqs = args.seq or []
        if args.all:
            seqs = [letter.seq for letter in await list_dead_letters(js, args.service)]
        for seq in seqs:
            letter = await replay(js, args.service, seq)
            sys.stdout.write(f"replayed {args.service} #{seq} -> {letter.original_subject}\n")
        return 0
    finally:
        await nc.close()


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m shared.deadletter", description=__doc__)
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--service", choices=SERVICE_NAMES)
    parser.add_argument("--seq", type=int, action="append")
    parser.add_argument("--all", action="store_true")
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
