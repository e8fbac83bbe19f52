"""Bad input through the API: Unicode edge cases in every text field, malformed bodies and parameters.

Valid text (right-to-left scripts, emoji sequences, combining marks, astral and invisible code
points) round-trips code point for code point through every endpoint that shows it back; U+0000,
lone surrogates and text over a field's limit (counted in code points) answer 422 naming the
field. Bodies over 64 KiB answer 413; malformed or non-object JSON, bad `limit`, `cursor` and `tz`
values answer 422 — on every route that takes them, found in the OpenAPI.
"""

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
from nats.js import JetStreamContext

from shared.ids import customer_id_for
from tests.conftest import RunningGateway
from tests.support import auth, connector_event, new_workspace, publish_event, wait_for

GatewayStarter = Callable[..., Awaitable[RunningGateway]]

PHONE = "+971501234567"

# Valid text, each at most 50 code points (the shortest limit, a tag name) and distinct when
# case-folded (tag names are unique in any case). None starts or ends with whitespace (trimmed).
VALID_TEXT = {
    "arabic": "ليلى حداد",
    "hebrew with niqqud": "שָׁלוֹם עוֹלָם",
    "mixed direction with marks": "طلب #1234 \u200f(ok)\u200e done \u202bembedded\u202c",
    "arabic-indic digits": "رقم ٠١٢٣٤٥٦٧٨٩",
    "emoji ZWJ sequences": "👩‍👩‍👧‍👦 🏳️‍🌈 🧑🏽‍💻",
    "skin tones": "👋🏻👋🏼👋🏽👋🏾👋🏿",
    "flags": "🇦🇪🇮🇱🇺🇳",
    "combining marks": "Z̴̡a̷͎l̶̨g̸̣o̵̠",
    "decomposed and composed": "Cafe\u0301 / Café",
    "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱",
    "invisible": "a\u200bb\u200cc\u200dd\u2060e\ufefff",
    "separators and controls": "line\u2028para\u2029tab\tnew\nline",
    "noncharacters and maximum": "x\ufffey\uffffz\U0010ffff",
}

# Field → its limit in code points, for the fields of free text.
PROFILE_LIMITS = {"name": 200, "location": 500, "agent_instructions": 2000}
NOTE_LIMIT = 2000
TAG_NAME_LIMIT = 50

# What no text field may hold, as JSON text (lone surrogates exist only as \u escapes).
INVALID_JSON_STRINGS = {
    "U+0000": '"a\\u0000b"',
    "lone high surrogate": '"a\\ud800b"',
    "lone low surrogate": '"a\\udfffb"',
    "reversed surrogate pair": '"\\ude00\\ud83d"',
}


def raw_json(fields: dict[str, str]) -> bytes:
    """A JSON object whose values are given as JSON text (so they may hold lone surrogates)."""
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}").encode()


def ascii_json(body: dict[str, Any]) -> bytes:
    """The body with every non-ASCII character escaped (astral ones as surrogate pairs)."""
    return json.dumps(body, ensure_ascii=True).encode()


JSON = {"content-type": "application/json"}


def at_limit(limit: int) -> Iterator[tuple[str, str, bool]]:
    """(what, value, accepted): values at and just over `limit`, in code points, never in bytes,
    UTF-16 units or graphemes."""
    yield "astral at the limit", "😀" * limit, True
    yield "astral over the limit", "😀" * (limit + 1), False
    yield "combining marks at the limit", "e\u0301" * (limit // 2), True
    yield "combining marks over the limit", "e\u0301" * (limit // 2) + "\u0301", False
    yield "padded at the limit (trimmed)", "  " + "ש" * limit + "\u3000", True


def field_of(response: httpx.Response, *keys: str) -> Any:
    """The value at `keys` of a 2xx JSON answer, else the answer's status and text (to report)."""
    if not 200 <= response.status_code < 300:
        return f"{response.status_code} {response.text[:300]}"
    value: Any = response.json()
    for key in keys:
        value = value[key]
    return value


def problem_fields(response: httpx.Response) -> set[str]:
    """The fields a 422 problem names (first path segment)."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return {error["field"].split(".")[0] for error in response.json()["errors"]}


async def seed(gateway: RunningGateway, js: JetStreamContext) -> tuple[str, str]:
    """A customer the notes service knows: (workspace, customer id)."""
    ws = new_workspace()
    await publish_event(js, ws, "contact.seen", connector_event("whatsapp", PHONE, display_name="Seed"))
    customer_id = str(customer_id_for(ws, "whatsapp", PHONE))

    async def known() -> bool:
        response = await gateway.client.get(f"/v1/customers/{customer_id}/notes", headers=auth(ws))
        return response.status_code == 200

    await wait_for(known, timeout=30, what="customer known to the notes service")
    return ws, customer_id


async def seed_editable(
    gateway: RunningGateway, js: JetStreamContext
) -> tuple[str, dict[str, str], dict[str, str]]:
    """A seeded customer's URL, with an agent's and an admin's headers of its workspace."""
    ws, customer_id = await seed(gateway, js)
    return f"/v1/customers/{customer_id}", auth(ws), auth(ws, role="admin")


async def test_unicode_text_round_trips_through_every_text_field(
    gateway: RunningGateway, js: JetStreamContext
) -> None:
    client = gateway.client
    url, agent, admin = await seed_editable(gateway, js)
    problems: list[str] = []

    def same(what: str, got: Any, sent: str) -> None:
        if not isinstance(got, str) or got.encode() != sent.encode():
            problems.append(f"{what}: sent {sent!r}, got back {got!r}")

    for label, text in VALID_TEXT.items():
        fields = dict.fromkeys(PROFILE_LIMITS, text)
        for encoding, content in (
            ("utf-8", json.dumps(fields, ensure_ascii=False).encode()),
            ("ascii", ascii_json(fields)),
        ):
            edited = await client.patch(url, content=content, headers={**agent, **JSON})
            if edited.status_code != 200:
                problems.append(f"profile {label} ({encoding}): {edited.status_code} {edited.text}")
                continue
            for field in PROFILE_LIMITS:
                same(f"PATCH answer {field} {label} ({encoding})", edited.json()["profile"][field], text)
            view = (await client.get(url, headers=agent)).json()
            for field in PROFILE_LIMITS:
                same(f"view {field} {label} ({encoding})", view["profile"][field], text)
            same(f"view header name {label}", view["header"]["name"], text)
            context = await client.get(
                "/v1/agent-context", params={"platform": "whatsapp", "platform_user_id": PHONE}, headers=agent
            )
            same(f"agent-context name {label}", field_of(context, "name"), text)
            same(f"agent-context instructions {label}", field_of(context, "agent_instructions"), text)
            grid = await client.get("/v1/customers", params={"q": text}, headers=agent)
            items = field_of(grid, "items")
            names = [item["name"] for item in items] if isinstance(items, list) else items
            if names != [text]:
                problems.append(f"grid q={text!r} ({label}): {names!r}")

        note = await client.post(
            f"{url}/notes", content=ascii_json({"text": text}), headers={**agent, **JSON}
        )
        if note.status_code != 201:
            problems.append(f"note {label}: {note.status_code} {note.text}")
        else:
            same(f"note answer {label}", note.json()["text"], text)
            listed = (await client.get(f"{url}/notes", params={"limit": 100}, headers=agent)).json()
            texts = {n["id"]: n["text"] for day in listed["days"] for n in day["notes"]}
            same(f"listed note {label}", texts.get(note.json()["id"]), text)

        tag = await client.post("/v1/tags", json={"name": text, "color": "#AABBCC"}, headers=admin)
        if tag.status_code != 201:
            problems.append(f"tag {label}: {tag.status_code} {tag.text}")
        else:
            same(f"tag answer {label}", tag.json()["name"], text)
            tags = {t["id"]: t["name"] for t in (await client.get("/v1/tags", headers=agent)).json()["items"]}
            same(f"listed tag {label}", tags.get(tag.json()["id"]), text)

    # Email and phone are normalised, but Unicode survives where the rules allow it.
    for email in ("layla.حداد@example.com", "用户@例子.广告", "שלום@דוגמה.ישראל", "😀@example.com"):
        edited = await client.patch(url, json={"email": email}, headers=agent)
        same(f"email {email!r}", field_of(edited, "profile", "email"), email)
    for phone in ("+٩٧١٥٠١٢٣٤٥٦٧", "+۹۷۱۵۰۱۲۳۴۵۶۷"):  # Arabic-Indic and Persian digits: stored E.164
        edited = await client.patch(url, json={"phone": phone}, headers=agent)
        same(f"phone {phone!r}", field_of(edited, "profile", "phone"), PHONE)
    assert not problems, "\n".join(problems)


async def test_nul_surrogates_and_overlong_text_are_422_naming_the_field(
    gateway: RunningGateway, js: JetStreamContext
) -> None:
    client = gateway.client
    url, agent, admin = await seed_editable(gateway, js)
    version = (await client.get(url, headers=agent)).json()["profile"]["version"]
    problems: list[str] = []

    def expect_422(what: str, response: httpx.Response, field: str) -> None:
        if response.status_code != 422 or field not in problem_fields(response):
            problems.append(
                f"{what}: expected 422 naming {field!r}, got {response.status_code} {response.text}"
            )

    # Each text field of each body, with each kind of invalid string.
    targets: list[tuple[str, str, str, dict[str, str]]] = [
        *(
            ("PATCH", url, field, {})
            for field in ("name", "phone", "email", "language", "country", "location", "agent_instructions")
        ),
        ("POST", f"{url}/notes", "text", {}),
        ("POST", "/v1/tags", "name", {"color": '"#AABBCC"'}),
        ("POST", "/v1/tags", "color", {"name": '"fine"'}),
    ]
    for method, target, field, others in targets:
        for what, value in INVALID_JSON_STRINGS.items():
            response = await client.request(
                method, target, content=raw_json({field: value, **others}), headers={**admin, **JSON}
            )
            expect_422(f"{method} {target} {field} with {what}", response, field)
    tag_ids = await client.patch(url, content=raw_json({"tag_ids": '["\\u0000"]'}), headers={**agent, **JSON})
    expect_422("tag_ids with U+0000", tag_ids, "tag_ids")
    # The same as invalid UTF-8 on the wire: a stray byte, an overlong U+0000 (malformed body), a
    # CESU-8 surrogate (decoded to a lone surrogate, refused as the field's text).
    for raw, field in (
        (b'{"name": "a\xffb"}', "body"),
        (b'{"name": "a\xc0\x80b"}', "body"),
        (b'{"name": "a\xed\xa0\x80b"}', "name"),
    ):
        response = await client.patch(url, content=raw, headers={**agent, **JSON})
        expect_422(f"PATCH name as bytes {raw!r}", response, field)

    # Limits count code points.
    last: dict[str, str] = {}
    for field, limit in PROFILE_LIMITS.items():
        for what, value, accepted in at_limit(limit):
            response = await client.patch(url, json={field: value}, headers=agent)
            if accepted:
                version += 1
                last[field] = value.strip()
                if field_of(response, "profile", field) != value.strip():
                    problems.append(f"{field} {what}: {response.status_code} {response.text[:300]}")
            else:
                expect_422(f"{field} {what}", response, field)
    for what, value, accepted in at_limit(NOTE_LIMIT):
        response = await client.post(f"{url}/notes", json={"text": value}, headers=agent)
        if accepted:
            if field_of(response, "text") != value.strip():
                problems.append(f"note {what}: {response.status_code} {response.text[:300]}")
        else:
            expect_422(f"note {what}", response, "text")
    for what, value, accepted in at_limit(TAG_NAME_LIMIT):
        response = await client.post("/v1/tags", json={"name": value, "color": "#AABBCC"}, headers=admin)
        if accepted:
            if field_of(response, "name") != value.strip():
                problems.append(f"tag name {what}: {response.status_code} {response.text[:300]}")
        else:
            expect_422(f"tag name {what}", response, "name")
    for value in ("ü" * 243 + "@example.com", "a@" + "ü" * 250 + ".com", "a@b\x00.com", "a@b\u202e.com"):
        response = await client.patch(url, json={"email": value}, headers=agent)
        expect_422(f"email {value[:20]!r}…", response, "email")
    for value in ("+" + "9" * 30, "😀", "+971\u200f501234567"):
        expect_422(f"phone {value!r}", await client.patch(url, json={"phone": value}, headers=agent), "phone")

    # Query parameters: U+0000 is refused before anything else; overlong q and Unicode nonsense too.
    for path in ("/v1/customers", f"{url}/notes", "/v1/agent-context", "/v1/tags"):
        response = await client.get(f"{path}?q=%00&platform_user_id=a%00b&tz=UTC%00", headers=agent)
        expect_422(f"GET {path} with U+0000 in the query", response, "query")
    expect_422("q over 200", await client.get("/v1/customers", params={"q": "😀" * 201}, headers=agent), "q")
    at_200 = await client.get("/v1/customers", params={"q": "😀" * 200}, headers=agent)
    if at_200.status_code != 200 or at_200.json()["items"] != []:
        problems.append(f"q of 200 code points: {at_200.status_code} {at_200.text}")
    for tz in ("Asia/Dubaï", "آسيا/دبي", "😀", "../../../etc/passwd", "Asia/Dubai\u200b", ""):
        response = await client.get(f"{url}/notes", params={"tz": tz}, headers=agent)
        expect_422(f"tz {tz!r}", response, "tz")
    unknown = await client.get(
        "/v1/agent-context", params={"platform": "whatsapp", "platform_user_id": "ليلى👩🏽‍💻"}, headers=agent
    )
    if unknown.status_code != 404:
        problems.append(f"agent-context for a Unicode platform id: {unknown.status_code} {unknown.text}")
    # Ids that are not ids, however exotic, exist nowhere.
    for bad_id in ("ليلى", "👩‍👩‍👧‍👦", "e\u0301", "%ED%A0%80", "%FF", "%00", "0" * 5000):
        for target in (f"/v1/customers/{bad_id}", f"/v1/customers/{bad_id}/notes", f"/v1/tags/{bad_id}"):
            method = "DELETE" if target.startswith("/v1/tags/") else "GET"
            response = await client.request(method, target, headers=admin)
            if response.status_code != 404 or not response.headers["content-type"].startswith(
                "application/problem+json"
            ):
                problems.append(f"{method} {target[:80]}: {response.status_code} {response.text[:200]}")

    assert not problems, "\n".join(problems)
    # Nothing of the refused writes reached the customer.
    after = (await client.get(url, headers=agent)).json()["profile"]
    assert after["version"] == version, after
    assert {field: after[field] for field in last} == last
    assert after["phone"] == PHONE and after["email"] is None


# Bodies that are not a JSON object, or not JSON at all.
MALFORMED_BODIES = [
    b"",
    b"{",
    b'{"name": }',
    b"{name: 1}",
    b'{"a": 1}{"b": 2}',
    b"{'name': 'x'}",
    b"\x00",
    b'{"name": "x"',
]
NON_OBJECT_BODIES = [b"[]", b'"text"', b"1", b"null", b"true", b'[{"name": "x"}]', b"NaN"]
BAD_LIMITS = ["0", "-1", "101", "1" + "0" * 30, "1.5", "abc", "", "1e2", "0x10", "٣"]
BAD_CURSORS = ["garbage", "a.b", "😀", "x" * 5000, "eyJ9.0000000000000000000000000000"]
MAX_BODY = 64 * 1024


async def chunks(total: int, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    """A body sent without Content-Length (chunked)."""
    for start in range(0, total, size):
        yield b"a" * min(size, total - start)


def padded_object(size: int) -> bytes:
    """A JSON object of exactly `size` bytes with one field no route accepts."""
    head, tail = b'{"not_a_field": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


async def test_malformed_requests_are_refused_on_every_route(
    unlimited_gateway: RunningGateway, js: JetStreamContext
) -> None:
    gateway = unlimited_gateway
    client = gateway.client
    ws, customer_id = await seed(gateway, js)
    admin = auth(ws, role="admin")
    for text in ("first", "second"):
        note = await client.post(f"/v1/customers/{customer_id}/notes", json={"text": text}, headers=admin)
        assert note.status_code == 201, note.text
    notes_page = await client.get(f"/v1/customers/{customer_id}/notes", params={"limit": 1}, headers=admin)
    notes_cursor = notes_page.json()["next_cursor"]
    assert notes_cursor

    path_values = {
        "customer_id": customer_id,
        "note_id": str(uuid.uuid4()),
        "tag_id": str(uuid.uuid4()),
        "erasure_id": str(uuid.uuid4()),
    }
    openapi = (await client.get("/openapi.json")).json()
    operations = [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
        if path.startswith("/v1/")
    ]
    problems: list[str] = []
    counts = {"body": 0, "limit": 0, "cursor": 0, "nul": 0}

    def expect(what: str, response: httpx.Response, status: int, field: str | None = None) -> None:
        if response.status_code != status:
            problems.append(f"{what}: expected {status}, got {response.status_code} {response.text[:300]}")
        elif status >= 400 and not response.headers["content-type"].startswith("application/problem+json"):
            problems.append(f"{what}: {status} is not problem+json")
        elif field is not None and field not in problem_fields(response):
            problems.append(f"{what}: 422 does not name {field!r}: {response.text[:300]}")

    for method, path, operation in operations:
        target = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["name"] in path_values, f"{method} {path}: no value for {parameter['name']}"
                target = target.replace("{" + parameter["name"] + "}", path_values[parameter["name"]])
        label = f"{method} {path}"
        query_names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}

        # U+0000 anywhere in the query: 422 on every route, before anything else.
        counts["nul"] += 1
        expect(
            f"{label} ?x=%00", await client.request(method, f"{target}?x=%00", headers=admin), 422, "query"
        )

        if "requestBody" in operation:
            counts["body"] += 1
            headers = {**admin, **JSON}
            over = b'{"name": "' + b"a" * MAX_BODY + b'"}'
            expect(
                f"{label} body over 64 KiB",
                await client.request(method, target, content=over, headers=headers),
                413,
            )
            at_max = await client.request(method, target, content=padded_object(MAX_BODY), headers=headers)
            expect(f"{label} body of exactly 64 KiB", at_max, 422, "not_a_field")
            for body in MALFORMED_BODIES:
                response = await client.request(method, target, content=body, headers=headers)
                expect(f"{label} body {body!r}", response, 422)
                if response.status_code == 422 and not response.json()["errors"]:
                    problems.append(f"{label} body {body!r}: 422 without errors")
            for body in NON_OBJECT_BODIES:
                response = await client.request(method, target, content=body, headers=headers)
                expect(f"{label} body {body!r}", response, 422, "body")
            as_text = await client.request(
                method, target, content=b'{"name": "x"}', headers={**admin, "content-type": "text/plain"}
            )
            expect(f"{label} JSON sent as text/plain", as_text, 422, "body")

        if "limit" in query_names:
            counts["limit"] += 1
            for limit in BAD_LIMITS:
                response = await client.request(method, target, params={"limit": limit}, headers=admin)
                expect(f"{label} limit={limit!r}", response, 422, "limit")
            for limit in ("1", "100"):
                response = await client.request(method, target, params={"limit": limit}, headers=admin)
                expect(f"{label} limit={limit}", response, 200)

        if "cursor" in query_names:
            counts["cursor"] += 1
            tampered = notes_cursor[:-1] + ("0" if notes_cursor[-1] != "0" else "1")
            for cursor in [*BAD_CURSORS, tampered]:
                response = await client.request(method, target, params={"cursor": cursor}, headers=admin)
                expect(f"{label} cursor={cursor[:40]!r}", response, 422, "cursor")
            # A cursor the server issued for another list: refused or read, never a 500.
            response = await client.request(method, target, params={"cursor": notes_cursor}, headers=admin)
            if response.status_code not in (200, 422):
                problems.append(f"{label} with a notes cursor: {response.status_code} {response.text[:300]}")

    assert not problems, "\n".join(problems)
    # The route table, not a list in this test, decides what is covered.
    assert counts == {"body": 6, "limit": 5, "cursor": 5, "nul": len(operations)}, counts


async def test_email_local_part_over_64_octets_is_422(gateway: RunningGateway, js: JetStreamContext) -> None:
    ws, customer_id = await seed(gateway, js)
    for local in ("a" * 65, "ü" * 33):  # 65 and 66 octets (RFC 5321 §4.5.3.1.1, RFC 6531 §3.3)
        response = await gateway.client.patch(
            f"/v1/customers/{customer_id}", json={"email": f"{local}@example.com"}, headers=auth(ws)
        )
        assert response.status_code == 422 and problem_fields(response) == {"email"}, response.text


async def test_chunked_body_over_64_kib_is_413_on_every_body_route(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    headers = {**auth(new_workspace(), role="admin"), **JSON}
    statuses: dict[str, int] = {}
    for path, item in gateway.app.openapi()["paths"].items():
        for method, operation in item.items():
            if "requestBody" in operation:
                target = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)
                # No Content-Length: only the bytes received can tell the body is too large.
                response = await gateway.client.request(
                    method.upper(), target, content=chunks(MAX_BODY + 1), headers=headers
                )
                statuses[f"{method.upper()} {path}"] = response.status_code
    # PATCH customer, notes, bulk tags, tags (POST and PATCH), merge.
    assert len(statuses) == 6 and set(statuses.values()) == {413}, statuses
