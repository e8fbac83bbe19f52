"""Customer-grid latency on 100k customers: through the gateway, beside the same SQL run directly.

python -m bench.grid_search [--customers 100000] [--requests 100]

Starts embedded PostgreSQL, NATS and Redis (or uses DATABASE_URL / NATS_URL / REDIS_URL), seeds
one workspace with N customers (plus a tenth as many in a second workspace, so every query has to
stay in its own), runs the profile service and the gateway as their own processes, then times
each kind of grid query one request at a time. The floor is the very SQL the service runs for
that request, executed from this process on one connection: what is left above it is NATS,
HTTP, JSON and the gateway.
"""

import argparse
import asyncio
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from deploy.embedded import EmbeddedNats, EmbeddedPostgres, EmbeddedRedis, EmbeddedServer, free_port
from gateway.auth import issue_token
from gateway.pagination import seal_cursor
from services.profile import repository
from services.profile.service import (
    ERASING_SERVICES,
    grid_cursor,
    grid_order,
    name_key,
    parse_grid_cursor,
    search_document,
    search_terms,
)
from shared.db import create_pool, database_url_for, ensure_database, migrate
from shared.ids import customer_id_for
from shared.nats import StreamSpec, connect, declare_stream
from shared.rpc import Empty, ServiceUnavailable, call, ping_operation
from shared.subjects import event_stream, event_subjects

WORKSPACE = "bench"
NOISE_WORKSPACE = "bench-noise"
SECRET = "bench-secret-0123456789-0123456789"
MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "profile" / "migrations"

FIRST = ("maria", "ahmed", "fatima", "john", "li", "wei", "omar", "sara", "david", "anna", "yusuf", "noor")
LAST = ("garcia", "khan", "smith", "chen", "haddad", "nguyen", "mansour", "silva", "kowalski", "rahman")
DOMAINS = ("gmail.com", "example.org", "outlook.com", "company.ae")
# Tag name → share of customers that carry it: the filter's selectivity.
TAGS = {"common": 0.30, "frequent": 0.10, "uncommon": 0.01, "rare": 0.001}


@dataclass(frozen=True)
class Kind:
    """One kind of grid query, with the parameters of each of its requests."""

    name: str
    params: Callable[[int], dict[str, Any]]


def _customer_rows(workspace: str, count: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC)
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first.title()} {last.title()}"
        roll = rng.random()
        phone = None
        if roll < 0.6:
            # n × 7919 mod 10⁸ never repeats (7919 is prime to 10⁸): no two customers share a number.
            platform, pid = "whatsapp", f"+9715{n * 7919 % 10**8:08}"
            phone = pid
        elif roll < 0.85:
            platform, pid = "instagram", f"{first}.{last}{n}"
        else:
            platform, pid = "web", f"visitor-{rng.getrandbits(32):08x}-{n}"
        email = f"{first}.{last}{n}@{rng.choice(DOMAINS)}" if rng.random() < 0.4 else None
        created_at = now - timedelta(seconds=rng.randrange(730 * 86400))
        yield (
            customer_id_for(workspace, platform, pid),
            workspace,
            platform,
            pid,
            name,
            phone,
            email,
            search_document(name, phone, email, pid),
            name_key(name),
            created_at,
            created_at + timedelta(seconds=rng.randrange(86400 * 30)),
        )


async def seed(pool: asyncpg.Pool, customers: int) -> dict[str, str]:
    """Fill both workspaces; the bench workspace's tag ids by name."""
    rng = random.Random(7)
    columns = (
        "id",
        "workspace",
        "platform",
        "platform_user_id",
        "name",
        "phone",
        "email",
        "search",
        "name_key",
        "created_at",
        "last_contact_at",
    )
    tag_ids = {name: str(uuid.uuid4()) for name in TAGS}
    async with pool.acquire() as conn:
        for workspace, count in ((WORKSPACE, customers), (NOISE_WORKSPACE, customers // 10)):
            rows = list(_customer_rows(workspace, count, rng))
            # Migration 0007's trigger copies each last contact into customer_activity.
            await conn.copy_records_to_table("customers", records=rows, columns=columns)
            if workspace == WORKSPACE:
                await conn.executemany(
                    "INSERT INTO tags (id, workspace, name, name_key, color) "
                    "VALUES ($1, $2, $3, $3, '#336699')",
                    [(tag_id, WORKSPACE, name) for name, tag_id in tag_ids.items()],
                )
                links = [
                    (row[0], uuid.UUID(tag_ids[name]))
                    for row in rows
                    for name, share in TAGS.items()
                    if rng.random() < share
                ]
                await conn.copy_records_to_table(
                    "customer_tags", records=links, columns=("customer_id", "tag_id")
                )
        await conn.execute("VACUUM ANALYZE customers")
        await conn.execute("VACUUM ANALYZE customer_tags")
        await conn.execute("VACUUM ANALYZE customer_activity")
    return tag_ids


def kinds(pool_sample: dict[str, list[str]], tag_ids: dict[str, str]) -> list[Kind]:
    """The query kinds measured; each request varies its search term within the kind."""

    def cycle(values: list[str]) -> Callable[[int], str]:
        return lambda i: values[i % len(values)]

    rare_ids, phones, names = (cycle(pool_sample[k]) for k in ("visitor", "phone", "name"))
    return [
        Kind("first page", lambda i: {}),
        Kind("page 20 (cursor)", lambda i: {"cursor": pool_sample["cursor"][0]}),
        Kind("sort=name", lambda i: {"sort": "name"}),
        Kind("sort=-name, page 20", lambda i: {"sort": "-name", "cursor": pool_sample["cursor -name"][0]}),
        Kind("sort=-last_contact_at", lambda i: {"sort": "-last_contact_at"}),
        Kind(
            "sort=last_contact_at, p20",
            lambda i: {"sort": "last_contact_at", "cursor": pool_sample["cursor last_contact_at"][0]},
        ),
        Kind("sort=name, platform=web", lambda i: {"sort": "name", "platform": "web"}),
        Kind("sort=name, tag 1%", lambda i: {"sort": "name", "tag": tag_ids["uncommon"]}),
        Kind("q: platform id, 1 match", lambda i: {"q": rare_ids(i)}),
        Kind("q: phone digits", lambda i: {"q": phones(i)}),
        Kind("q: full name, ~0.5%", lambda i: {"q": names(i)}),
        Kind("q: email domain, ~10%", lambda i: {"q": DOMAINS[i % len(DOMAINS)]}),
        Kind("q: 2 characters", lambda i: {"q": ["al", "ia", "an"][i % 3]}),
        Kind("q: no match", lambda i: {"q": f"zzq{i}x"}),
        Kind("platform=web", lambda i: {"platform": "web"}),
        Kind("tag 30%", lambda i: {"tag": tag_ids["common"]}),
        Kind("tag 1%", lambda i: {"tag": tag_ids["uncommon"]}),
        Kind("tag 0.1%", lambda i: {"tag": tag_ids["rare"]}),
        Kind(
            "q + tag 10% + platform", lambda i: {"q": "a", "tag": tag_ids["frequent"], "platform": "whatsapp"}
        ),
    ]


async def sample(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """Search terms taken from the data, and a cursor 20 pages deep."""
    async with pool.acquire() as conn:
        visitors = await conn.fetch(
            "SELECT platform_user_id FROM customers WHERE workspace = $1 AND platform = 'web' LIMIT 20",
            WORKSPACE,
        )
        phones = await conn.fetch(
            "SELECT phone FROM customers WHERE workspace = $1 AND phone IS NOT NULL LIMIT 20", WORKSPACE
        )
        cursors = {}
        for sort in ("-created_at", "-name", "last_contact_at"):
            order = grid_order(sort)
            direction = "DESC" if order.descending else "ASC"
            column = f"a.{order.column}" if order.column == "last_contact_at" else f"c.{order.column}"
            deep = await conn.fetchrow(
                f"SELECT c.id, {column} AS {order.column} FROM customers c "
                "JOIN customer_activity a ON a.customer_id = c.id WHERE c.workspace = $1 "
                f"ORDER BY {column} {direction}, c.id {direction} OFFSET 499 LIMIT 1",
                WORKSPACE,
            )
            assert deep is not None
            cursors[sort] = grid_cursor(order, deep)
    return {
        "visitor": [r["platform_user_id"] for r in visitors],
        # "+9715 1234 56": the middle of a number, typed with spaces.
        "phone": [f"{r['phone'][4:8]} {r['phone'][8:11]}" for r in phones],
        "name": [f"{f} {la}" for f, la in zip(FIRST, LAST, strict=False)],
        "cursor": [cursors["-created_at"]],
        "cursor -name": [cursors["-name"]],
        "cursor last_contact_at": [cursors["last_contact_at"]],
    }


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99, in seconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def timed(call: Callable[[], Awaitable[int]], runs: int) -> tuple[list[float], int]:
    """Latencies of `runs` calls one after another (after two warm-ups), and the last call's row count."""
    for _ in range(2):
        await call()
    latencies, rows = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        rows = await call()
        latencies.append(time.perf_counter() - start)
    return latencies, rows


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    """Poll until `check` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{what} not ready within {timeout}s")


async def prepare(database_url: str, customers: int) -> tuple[str, dict[str, str]]:
    """A migrated, seeded profile database: its URL and the bench workspace's tag ids."""
    profile_url = database_url_for(database_url, f"bench_profile_{uuid.uuid4().hex[:8]}")
    await ensure_database(profile_url)
    await migrate(MIGRATIONS, profile_url)
    pool = await create_pool(profile_url, max_size=1)
    try:
        started = time.perf_counter()
        tag_ids = await seed(pool, customers)
        took = time.perf_counter() - started
    finally:
        await pool.close()
    print(f"seeded {customers} customers (+{customers // 10} in another workspace) in {took:.1f}s")
    return profile_url, tag_ids


async def declare_bound_streams(nats_url: str) -> None:
    """The streams profile binds but does not declare (the erasing services' own), as they would."""
    nc = await connect(nats_url, "bench")
    try:
        for service in ERASING_SERVICES:
            await declare_stream(nc.jetstream(), StreamSpec(event_stream(service), [event_subjects(service)]))
    finally:
        await nc.close()


def start_processes(env: dict[str, str], workdir: Path) -> list[subprocess.Popen[bytes]]:
    """The profile service and the gateway, each its own process as in production."""
    processes = []
    for module in ("services.profile", "gateway"):
        with open(workdir / f"{module}.log", "ab") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", module], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
    return processes


ROW = "{:<26} {:>5} {:>12} {:>9} {:>9} {:>9} {:>10}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}ms"


async def measure(
    urls: dict[str, str], profile_url: str, port: int, tag_ids: dict[str, str], runs: int
) -> None:
    """Time every query kind through the gateway and as direct SQL; print the table."""
    nc = await connect(urls["NATS_URL"], "bench")
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    pool = await create_pool(profile_url, max_size=1)

    async def profile_answers() -> bool:
        try:
            await call(nc, ping_operation("profile"), Empty(), timeout=1)
        except ServiceUnavailable:
            return False
        return True

    async def gateway_answers() -> bool:
        try:
            return (await http.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    try:
        await wait_until(profile_answers, "profile service")
        await wait_until(gateway_answers, "gateway")
        token = issue_token(SECRET, sub="bench", name="Bench", workspace=WORKSPACE, role="agent")
        headers = {"Authorization": f"Bearer {token}"}
        print(f"\n{runs} requests per kind, one at a time, limit 25")
        print(ROW.format("query", "rows", "gateway p50", "p99", "SQL p50", "p99", "p50 ratio"))
        for kind in kinds(await sample(pool), tag_ids):
            gateway_counter, direct_counter = iter(range(10**9)), iter(range(10**9))

            async def through_gateway(kind: Kind = kind, counter: Iterator[int] = gateway_counter) -> int:
                params = {"limit": 25, **kind.params(next(counter))}
                if "cursor" in params:
                    params["cursor"] = seal_cursor(SECRET, params["cursor"])
                response = await http.get("/v1/customers", params=params, headers=headers)
                response.raise_for_status()
                return len(response.json()["items"])

            async def direct_sql(kind: Kind = kind, counter: Iterator[int] = direct_counter) -> int:
                params = kind.params(next(counter))
                order = grid_order(params.get("sort", "-created_at"))
                sql, args = repository.grid_query(
                    WORKSPACE,
                    terms=search_terms(params.get("q")),
                    tag=uuid.UUID(params["tag"]) if "tag" in params else None,
                    platform=params.get("platform"),
                    order=order,
                    after=parse_grid_cursor(params["cursor"], order) if "cursor" in params else None,
                    limit=26,
                )
                async with pool.acquire() as conn:
                    return len((await repository.grid_page(conn, sql, args))[:25])

            gateway_latencies, rows = await timed(through_gateway, runs)
            sql_latencies, sql_rows = await timed(direct_sql, runs)
            assert rows == sql_rows, (kind.name, rows, sql_rows)
            g50, g99 = percentiles(gateway_latencies)
            s50, s99 = percentiles(sql_latencies)
            print(ROW.format(kind.name, rows, _ms(g50), _ms(g99), _ms(s50), _ms(s99), f"{g50 / s50:.1f}x"))
    finally:
        await http.aclose()
        await nc.close()
        await pool.close()


def main() -> None:
    """Parse arguments and run in a scratch directory."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100, help="timed requests per query kind")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-grid-"))
    servers: list[EmbeddedServer] = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = {}
        embedded: list[tuple[str, EmbeddedServer]] = [
            ("DATABASE_URL", EmbeddedPostgres(workdir / "postgres", password=secrets.token_urlsafe(16))),
            ("NATS_URL", EmbeddedNats(workdir / "nats")),
            ("REDIS_URL", EmbeddedRedis(workdir / "redis", password=secrets.token_urlsafe(16))),
        ]
        for name, server in embedded:
            if os.environ.get(name):
                urls[name] = os.environ[name]
            else:
                servers.append(server.start())
                urls[name] = server.url
        profile_url, tag_ids = asyncio.run(prepare(urls["DATABASE_URL"], args.customers))
        asyncio.run(declare_bound_streams(urls["NATS_URL"]))
        port = free_port()
        env = {
            **os.environ,
            **urls,
            "PROFILE_DATABASE_URL": profile_url,
            "JWT_SECRET": SECRET,
            "GATEWAY_PORT": str(port),
            "RATE_LIMIT_PER_SECOND": "1000000",
            "LOG_LEVEL": "WARNING",
            # Any free port: another stack on this machine may hold the default.
            "ADMIN_PORT": "0",
        }
        processes = start_processes(env, workdir)
        asyncio.run(measure(urls, profile_url, port, tag_ids, args.requests))
    finally:
        for proc in processes:
            proc.terminate()
        for proc in processes:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for server in reversed(servers):
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
