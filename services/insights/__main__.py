"""python -m services.insights"""

from services.insights.app import definition
from shared.runtime import run_service

if __name__ == "__main__":
    run_service(definition)
