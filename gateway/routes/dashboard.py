"""The dashboard: one static page (gateway/static) at `/`, its assets, and the Chats placeholder."""

from html import escape
from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles

from gateway.errors import Problem

STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()

# Only these kinds of file are served; anything else under static/ stays private.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

# The page renders data with textContent only; the policy is a second line of defence against
# injected markup (no inline or foreign scripts). Avatars may come from any http(s) host.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https: http:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # The event stream carries the token in its query string: never leak URLs as referrers.
    "Referrer-Policy": "no-referrer",
    # Small files, no build step: always revalidate (a 304 while unchanged), so a new version shows at once.
    "Cache-Control": "no-cache",
}

# Starlette's rules for conditional requests (If-None-Match, If-Modified-Since) on the files it serves.
_CONDITIONS = StaticFiles(directory=STATIC_DIR)

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def static_file(relative: str) -> Path:
    """The file under static/ that `relative` names; Problem(404) for anything else.

    Refuses absolute paths, `..`, backslashes, hidden files, unknown file types and anything that
    resolves (through symlinks) outside static/.
    """
    if not relative or "\\" in relative or "\x00" in relative:
        raise Problem(404, "not found")
    parts = PurePosixPath(relative).parts
    if relative.startswith("/") or any(part.startswith(".") for part in parts):
        raise Problem(404, "not found")
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file() or path.suffix not in MEDIA_TYPES:
        raise Problem(404, "not found")
    return path


def _file_response(path: Path, request: Request) -> Response:
    """The file with its validators (ETag, Last-Modified); 304 when the browser's copy is current."""
    response = FileResponse(
        path, media_type=MEDIA_TYPES[path.suffix], headers=PAGE_HEADERS, stat_result=path.stat()
    )
    if _CONDITIONS.is_not_modified(response.headers, request.headers):
        return NotModifiedResponse(response.headers)
    return response


@router.api_route("/", methods=["GET", "HEAD"])
async def index(request: Request) -> Response:
    """The dashboard page; its hash router shows #/customers and #/customers/<id>."""
    return _file_response(static_file("index.html"), request)


@router.api_route("/static/{relative:path}", methods=["GET", "HEAD"])
async def static_asset(relative: str, request: Request) -> Response:
    """A script, stylesheet or image of the dashboard; 404 problem for anything else."""
    return _file_response(static_file(relative), request)


@router.get("/chats/{platform}/{platform_user_id:path}")
async def chat_placeholder(
    platform: str,
    platform_user_id: str,
    conversation: Annotated[str | None, Query(max_length=256)] = None,
) -> HTMLResponse:
    """Where chat_url points: the Chats page is not part of this project, so a placeholder says so."""
    rows = [("Platform", platform[:64]), ("Platform user id", platform_user_id[:256])]
    if conversation:
        rows.append(("Conversation", conversation))
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Chats</title><link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/app.css"></head><body>'
        '<main id="main"><section class="card chat-placeholder">'
        "<h1>Chats</h1>"
        "<p>The Chats page is not part of this dashboard. It would open this chat:</p>"
        f'<dl class="facts">{facts}</dl>'
        '<p><a href="/#/customers">Back to the customers</a></p>'
        "</section></main></body></html>"
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)
