"""How the gateway serves the dashboard: the page, its assets, the Chats placeholder, and nothing else."""

import re
from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

import pytest

from gateway.routes.dashboard import STATIC_DIR
from tests.conftest import RunningGateway

GatewayStarter = Callable[..., Awaitable[RunningGateway]]
# Static imports (`import … from "./x.js"`, on one line or closing a multi-line one) and bare ones.
IMPORT = re.compile(r'^(?:import .*|\}) from "\./([\w./-]+)";$|^import "\./([\w./-]+)";$', re.MULTILINE)


def static_names() -> list[str]:
    """Every file of the dashboard, as a path under static/."""
    return sorted(p.relative_to(STATIC_DIR).as_posix() for p in Path(STATIC_DIR).rglob("*") if p.is_file())


async def test_the_page_and_every_module_it_imports_are_served(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    page = await gateway.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/static/app.js">' in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"

    # Follow the module graph from app.js: a missing or misspelt module would break the page.
    seen: set[str] = set()
    queue = ["app.js", "app.css"]
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        asset = await gateway.client.get(f"/static/{name}")
        assert asset.status_code == 200, name
        expected = "text/javascript" if name.endswith(".js") else "text/css"
        assert asset.headers["content-type"].startswith(expected), name
        folder = PurePosixPath(name).parent
        for match in IMPORT.finditer(asset.text):
            queue.append(str(folder / (match.group(1) or match.group(2))))
    assert seen | {"index.html"} == set(static_names())

    # No module writes markup from data: rendering goes through textContent only.
    for name in static_names():
        source = (Path(STATIC_DIR) / name).read_text()
        assert not re.search(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write", source), name


@pytest.mark.parametrize(
    "path",
    [
        "/static/",
        "/static/missing.js",
        "/static/%2e%2e/routes/dashboard.py",
        "/static/..%2f..%2fapp.py",
        "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/static/.hidden",
        "/static/%00app.js",
        "/static/app.js%5c..%5capp.js",
        "/static//etc/passwd",
    ],
)
async def test_anything_but_a_dashboard_file_is_a_404_problem(
    start_gateway: GatewayStarter, path: str
) -> None:
    gateway = await start_gateway()
    response = await gateway.client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 404


async def test_a_chat_link_opens_a_placeholder_that_names_the_chat(start_gateway: GatewayStarter) -> None:
    gateway = await start_gateway()
    response = await gateway.client.get(
        "/chats/web/visitor%2F%3Cscript%3Ealert(1)%3C%2Fscript%3E", params={"conversation": "c<1>"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "The Chats page is not part of this dashboard" in response.text
    assert "visitor/&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "c&lt;1&gt;" in response.text
    assert "<script>" not in response.text
    whatsapp = await gateway.client.get("/chats/whatsapp/%2B971501234567")
    assert "+971501234567" in whatsapp.text
