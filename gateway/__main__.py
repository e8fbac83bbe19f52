"""python -m gateway"""

import uvicorn

from gateway.app import create_app
from gateway.config import GatewaySettings
from shared.logging import configure_logging

if __name__ == "__main__":
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )
