"""Links into the dashboard."""

from urllib.parse import quote


def chat_url(platform: str, platform_user_id: str, conversation_id: str | None = None) -> str:
    """Where the dashboard's Chats page opens this customer's chat on that platform."""
    url = f"/chats/{platform}/{quote(platform_user_id, safe='')}"
    if conversation_id is not None:
        url += f"?conversation={quote(conversation_id, safe='')}"
    return url
