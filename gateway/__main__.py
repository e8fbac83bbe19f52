"""python -m gateway"""

import uvicorn

from gateway.config import GatewaySettings
from shared.logging import configure_logging

if __name__ == "__main__":
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    uvicorn.run(
        "gateway.app:app_from_environment",
        factory=True,
        host=settings.gateway_host,
        port=settings.gateway_port,
        # More than one worker shares the port; each is an independent, stateless gateway.
        workers=settings.gateway_workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
