"""python -m services.timeline"""

from services.timeline.app import definition
from shared.runtime import run_service

if __name__ == "__main__":
    run_service(definition)
