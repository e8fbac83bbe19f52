"""The command line: exit status 0 when everything is acknowledged, 2 with one clear line if not."""

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from deploy.embedded import free_port
from shared.events import EVENT_MODELS
from shared.nats import StreamSpec, declare_stream
from shared.subjects import CHAT_STREAM, CHAT_SUBJECTS, parse_chat_subject
from tests.connectors.conftest import CONNECTOR, SecuredNats

ROOT = Path(__file__).resolve().parents[2]


async def _simulator(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "NATS_CONNECTOR_URL")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "connectors.simulator",
        *args,
        cwd=ROOT,
        env={**environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_seed_run_exits_0_once_every_event_is_acknowledged(
    connector_url: str, js: JetStreamContext
) -> None:
    await declare_stream(js, StreamSpec(CHAT_STREAM, [CHAT_SUBJECTS]))
    code, out, _ = await _simulator("seed", "--customers", "3", env={"NATS_CONNECTOR_URL": connector_url})
    assert code == 0
    stored = (await js.stream_info(CHAT_STREAM)).state.messages
    assert stored > 0 and f"sent {stored}, acked {stored}, retried 0" in out


async def test_the_connector_url_wins_over_the_bus_url(secured_nats: SecuredNats) -> None:
    env = {
        "NATS_CONNECTOR_URL": secured_nats.url_as(*CONNECTOR),
        "NATS_URL": f"nats://127.0.0.1:{secured_nats.port}",
    }
    code, out, err = await _simulator("seed", "--customers", "1", env=env)
    assert (code, err) == (0, "")
    assert "as connector" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--nats-url", "http://127.0.0.1:4222"), "simulator: not a NATS URL"),
        (("--nats-url", "nats://127.0.0.1:{free}", "--connect-timeout", "1"), "simulator: cannot reach NATS"),
        (("--rate", "fast"), "not a rate"),
        (("--duration", "soon"), "not a duration"),
        (("--workspace", "no spaces"), "a workspace is"),
    ],
    ids=["not a nats url", "nothing listening", "bad rate", "bad duration", "bad workspace"],
)
async def test_bad_settings_exit_2_with_one_line_saying_why(args: tuple[str, ...], message: str) -> None:
    args = tuple(a.format(free=free_port()) for a in args)
    code, _, err = await _simulator("live", *args)
    assert code == 2
    assert message in err.strip().splitlines()[-1]


async def test_refused_credentials_exit_2_without_showing_the_password(secured_nats: SecuredNats) -> None:
    code, _, err = await _simulator(
        "seed", "--nats-url", secured_nats.url_as(CONNECTOR[0], "not-the-password")
    )
    assert code == 2
    assert err.splitlines() == [
        f"simulator: NATS at nats://connector:***@127.0.0.1:{secured_nats.port} refused user 'connector' "
        "(authorization violation): check the credentials in the URL (NATS_CONNECTOR_URL)"
    ]


async def test_no_stream_exits_2(connector_url: str) -> None:
    code, _, err = await _simulator("seed", "--customers", "1", env={"NATS_CONNECTOR_URL": connector_url})
    assert code == 2
    assert err.splitlines()[-1].startswith("simulator: no JetStream stream captures chat.v1.demo.")


async def test_a_dry_run_prints_the_messages_a_connector_publishes() -> None:
    code, out, _ = await _simulator("seed", "--customers", "2", "--dry-run", "--workspace", "acme")
    assert code == 0
    messages = [json.loads(line) for line in out.splitlines()]
    for message in messages:
        workspace, event_type = parse_chat_subject(message["subject"])
        assert workspace == "acme" and message["headers"] == {"Nats-Msg-Id": message["data"]["event_id"]}
        EVENT_MODELS[event_type].model_validate(message["data"])
    assert len(messages) > 10
