"""python -m services.timeline"""

from services.timeline.app import definition
from services.timeline.config import Settings
from shared.runtime import run_service

if __name__ == "__main__":
    run_service(definition, Settings())
