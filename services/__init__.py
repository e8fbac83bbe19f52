"""The four services; each owns its own database and talks to the others only over NATS."""
