"""PATCH /v1/customers/{id} over real HTTP: every rule, read-only fields, versions, history, events."""

import asyncio
from typing import Any

from tests.profile.support import ProfileStack, eventually
from tests.support import auth, customer_id, new_workspace

PID = "+971501234567"

# (body, field named in the 422, words of its message)
INVALID: list[tuple[Any, str, str]] = [
    ({"name": None}, "name", "cannot be cleared"),
    ({"name": "  "}, "name", "must not be empty"),
    ({"name": "n" * 201}, "name", "at most 200"),
    ({"phone": "050 123 4567"}, "phone", "country code"),
    ({"phone": "+971 12"}, "phone", "not a valid phone number"),
    ({"email": "dana.example.com"}, "email", "not a valid email"),
    ({"language": "xx"}, "language", "language code"),
    ({"country": "UK"}, "country", "country code"),
    ({"location": "l" * 501}, "location", "at most 500"),
    ({"agent_instructions": "é" * 2001}, "agent_instructions", "at most 2000"),
    ({"tag_ids": ["3f0e4a6e-6b1e-4f43-9d7c-2f8f1d6c0a11"]}, "tag_ids", "not a tag of this workspace"),
    ({"tag_ids": ["nope"]}, "tag_ids", "not a tag of this workspace"),
    ({"tag_ids": "nope"}, "tag_ids", "valid list"),
    ({"name": 5}, "name", "valid string"),
    ({"location": "a\u0000b"}, "location", "U+0000"),
    *(
        ({field: "x"}, field, "is not editable")
        for field in (
            "id",
            "platforms",
            "platform",
            "platform_user_id",
            "created_at",
            "instagram",
            "sentiment",
            "ai_profile",
            "avatar_url",
            "version",
            "favourite_colour",
        )
    ),
]


async def _customer(stack: ProfileStack) -> tuple[str, str]:
    ws = new_workspace()
    await stack.publish(ws, "contact.seen", "whatsapp", PID, display_name="Dana")
    cid = customer_id(ws, "whatsapp", PID)
    await stack.wait_view(ws, cid)
    return ws, cid


async def test_edits_are_normalised_versioned_recorded_and_announced(stack: ProfileStack) -> None:
    ws, cid = await _customer(stack)
    got = await stack.http.get(f"/v1/customers/{cid}", headers=auth(ws))
    assert got.headers["etag"] == '"1"'
    assert got.json()["profile"]["phone"] == PID  # pre-filled from the WhatsApp identity

    tag = await stack.http.post(
        "/v1/tags", json={"name": "VIP", "color": "#00aa00"}, headers=auth(ws, role="admin")
    )
    edit = {
        "name": "  Dana Q  ",
        "phone": "+971 50 765 4321",
        "email": "Dana.Q@Example.COM",
        "language": "AR",
        "country": "ae",
        "location": "Dubai Marina",
        "tag_ids": [tag.json()["id"]],
        "agent_instructions": "é" * 2000,
    }
    headers = auth(ws, sub="u-7", name="Sam Staff")
    response = await stack.http.patch(
        f"/v1/customers/{cid}", json=edit, headers={**headers, "If-Match": '"1"'}
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    view = response.json()
    assert view["profile"] == {
        "name": "Dana Q",
        "phone": "+971507654321",
        "email": "Dana.Q@example.com",
        "language": "ar",
        "country": "AE",
        "location": "Dubai Marina",
        "tags": [{"id": tag.json()["id"], "name": "VIP", "color": "#00AA00"}],
        "agent_instructions": "é" * 2000,
        "version": 2,
    }
    assert view["header"]["name"] == "Dana Q"
    assert view["header"]["platforms"][0]["platform_user_id"] == PID  # the identity is not edited

    # Sending what is already stored changes nothing, not even the version.
    again = await stack.http.patch(f"/v1/customers/{cid}", json={"country": "AE"}, headers=headers)
    assert again.headers["etag"] == '"2"'

    # null clears every field but name; W/"2" and a bare 2 are the current version too.
    cleared = await stack.http.patch(
        f"/v1/customers/{cid}",
        json={"phone": None, "email": None, "location": "", "tag_ids": None},
        headers={**headers, "If-Match": 'W/"2"'},
    )
    assert cleared.status_code == 200, cleared.text
    profile = cleared.json()["profile"]
    assert (profile["phone"], profile["email"], profile["location"], profile["tags"]) == (
        None,
        None,
        None,
        [],
    )
    assert profile["version"] == 3
    renamed = await stack.http.patch(
        f"/v1/customers/{cid}", json={"name": "Dana"}, headers={**headers, "If-Match": "3"}
    )
    assert renamed.headers["etag"] == '"4"'

    history = (await stack.http.get(f"/v1/customers/{cid}/history", headers=auth(ws))).json()
    assert [h["version"] for h in history["items"]] == [4, 3, 2]
    assert history["next_cursor"] is None
    first_edit = history["items"][2]
    assert first_edit["actor"] == {"id": "u-7", "name": "Sam Staff"}
    assert first_edit["changes"]["phone"] == {"old": PID, "new": "+971507654321"}
    assert first_edit["changes"]["name"] == {"old": "Dana", "new": "Dana Q"}
    assert first_edit["changes"]["tag_ids"] == {"old": [], "new": [tag.json()["id"]]}
    assert set(first_edit["changes"]) == set(edit)
    assert history["items"][0]["changes"] == {"name": {"old": "Dana Q", "new": "Dana"}}

    announced = await eventually(lambda: _staff_edits(stack, 3), what="three customer.updated events")
    assert [e["data"]["version"] for e in announced] == [2, 3, 4]
    assert announced[0]["data"]["actor"] == {"id": "u-7", "name": "Sam Staff"}
    assert announced[0]["data"]["changes"] == first_edit["changes"]
    assert announced[0]["event_id"] == f"customer.updated:{cid}:2"


async def _staff_edits(stack: ProfileStack, count: int) -> list[dict[str, Any]] | None:
    events = [e for e in await stack.profile_events("customer.updated") if e["data"]["actor"] is not None]
    return events if len(events) >= count else None


async def test_every_rule_answers_422_naming_its_field(stack: ProfileStack) -> None:
    ws, cid = await _customer(stack)
    for body, field, message in INVALID:
        response = await stack.http.patch(f"/v1/customers/{cid}", json=body, headers=auth(ws))
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        errors = response.json()["errors"]
        assert [e["field"] for e in errors] == [field], (body, errors)
        assert message in errors[0]["message"], (body, errors)

    several = await stack.http.patch(
        f"/v1/customers/{cid}", json={"email": "x", "country": "ZZ", "created_at": "now"}, headers=auth(ws)
    )
    # Every field the document refuses is named at once, the not-editable one with the others.
    assert [e["field"] for e in several.json()["errors"]] == ["email", "country", "created_at"]
    both = await stack.http.patch(
        f"/v1/customers/{cid}", json={"email": "x", "country": "ZZ"}, headers=auth(ws)
    )
    assert [e["field"] for e in both.json()["errors"]] == ["email", "country"]

    # A lone surrogate is valid JSON but no UTF-8 text; the last ones are not objects at all.
    malformed: list[tuple[bytes, str | None]] = [
        (b'{"name": "\\ud800"}', "name"),
        (b'{"\\ud800": 1}', None),
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'"text"', None),
        (b"null", None),
        (b"", None),
    ]
    for raw, named in malformed:
        response = await stack.http.patch(
            f"/v1/customers/{cid}", content=raw, headers={**auth(ws), "content-type": "application/json"}
        )
        assert response.status_code == 422, (raw, response.text)
        if named:
            assert [e["field"] for e in response.json()["errors"]] == [named]
    view = await stack.view(ws, cid)
    assert view is not None and view["profile"]["version"] == 1  # nothing above was applied


async def test_a_stale_if_match_is_412_and_changes_nothing(stack: ProfileStack) -> None:
    for if_match in ('"1"', "1", 'W/"1"', '"0", "1"'):
        ws, cid = await _customer(stack)
        first = await stack.http.patch(
            f"/v1/customers/{cid}", json={"location": "Dubai"}, headers={**auth(ws), "If-Match": if_match}
        )
        assert first.status_code == 200 and first.headers["etag"] == '"2"', if_match
        for stale in (if_match, '"3"', '"abc"'):
            response = await stack.http.patch(
                f"/v1/customers/{cid}",
                json={"location": "Abu Dhabi"},
                headers={**auth(ws), "If-Match": stale},
            )
            assert response.status_code == 412, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
        wildcard = await stack.http.patch(
            f"/v1/customers/{cid}", json={"location": "Sharjah"}, headers={**auth(ws), "If-Match": "*"}
        )
        assert wildcard.json()["profile"] == {**first.json()["profile"], "location": "Sharjah", "version": 3}

    # Writers racing from the same version: exactly one wins, the rest are told they are stale.
    ws, cid = await _customer(stack)
    racing = await asyncio.gather(
        *(
            stack.http.patch(
                f"/v1/customers/{cid}",
                json={"location": f"desk {n}"},
                headers={**auth(ws), "If-Match": '"1"'},
            )
            for n in range(6)
        )
    )
    assert sorted(r.status_code for r in racing) == [200, 412, 412, 412, 412, 412]
    winner = next(r for r in racing if r.status_code == 200).json()["profile"]
    view = await stack.view(ws, cid)
    assert view is not None and view["profile"] == winner and winner["version"] == 2


async def test_history_pages_and_unknown_customers(stack: ProfileStack) -> None:
    ws, cid = await _customer(stack)
    for n in range(5):
        response = await stack.http.patch(
            f"/v1/customers/{cid}", json={"location": f"floor {n}"}, headers=auth(ws)
        )
        assert response.status_code == 200
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await stack.http.get(f"/v1/customers/{cid}/history", params=params, headers=auth(ws))).json()
        seen += [item["version"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [6, 5, 4, 3, 2]

    forged = await stack.http.get(f"/v1/customers/{cid}/history", params={"cursor": "3"}, headers=auth(ws))
    assert forged.status_code == 422 and forged.json()["errors"][0]["field"] == "cursor"
    for bad_limit in (0, 101):
        response = await stack.http.get(
            f"/v1/customers/{cid}/history", params={"limit": bad_limit}, headers=auth(ws)
        )
        assert response.status_code == 422
    missing = "6d0c1a3c-6b55-4b5e-9a44-3c0b7f2f4b11"
    for path in (
        f"/v1/customers/{missing}",
        f"/v1/customers/{missing}/history",
        "/v1/customers/not-a-uuid/history",
    ):
        assert (await stack.http.get(path, headers=auth(ws))).status_code == 404, path
    for path in (f"/v1/customers/{missing}", "/v1/customers/not-a-uuid"):
        response = await stack.http.patch(path, json={"location": "x"}, headers=auth(ws))
        assert response.status_code == 404, path
