"""What services say to each other: event payloads (outbox → stream) and RPC operation names.

Each module belongs to the service that publishes or answers; consumers import it.
"""
