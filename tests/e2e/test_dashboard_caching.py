"""The dashboard's files carry validators, so that a browser revalidates them instead of downloading."""

from collections.abc import Awaitable, Callable

import httpx
import pytest
from playwright.async_api import Browser, Response

from tests.conftest import RunningGateway
from tests.e2e.test_dashboard_routes import static_names

GatewayStarter = Callable[..., Awaitable[RunningGateway]]

PAGES = ["/", *(f"/static/{name}" for name in static_names() if name != "index.html")]


@pytest.mark.parametrize("path", PAGES)
async def test_a_file_answers_304_while_the_browser_copy_is_current(
    start_gateway: GatewayStarter, path: str
) -> None:
    gateway = await start_gateway()
    first = await gateway.client.get(path)
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert first.headers["cache-control"] == "no-cache"
    assert "default-src 'self'" in first.headers["content-security-policy"]

    for condition in (
        {"If-None-Match": etag},
        {"If-None-Match": f"W/{etag}"},
        {"If-Modified-Since": modified},
    ):
        again = await gateway.client.get(path, headers=condition)
        assert again.status_code == 304, condition
        assert again.content == b""
        assert again.headers["etag"] == etag

    changed = await gateway.client.get(path, headers={"If-None-Match": '"another-version"'})
    assert changed.status_code == 200 and changed.content == first.content
    head = await gateway.client.head(path)
    assert head.status_code == 200 and head.content == b"" and head.headers["etag"] == etag


@pytest.mark.e2e
async def test_a_second_load_of_the_dashboard_revalidates_every_module(
    start_gateway: GatewayStarter, browser: Browser
) -> None:
    gateway = await start_gateway()
    context = await browser.new_context()
    page = await context.new_page()
    loads: list[dict[str, int]] = [{}, {}]

    def record(load: dict[str, int]) -> Callable[[Response], None]:
        def on_response(response: Response) -> None:
            if "/static/" in response.url:
                load[httpx.URL(response.url).path] = response.status

        return on_response

    for load in loads:
        listener = record(load)
        page.on("response", listener)
        await page.goto(f"{gateway.url}/", wait_until="networkidle")
        page.remove_listener("response", listener)
    await context.close()

    assert loads[0] and set(loads[0].values()) == {200}, loads[0]
    assert loads[1] == dict.fromkeys(loads[0], 304)
