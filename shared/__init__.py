"""What crosses a boundary: event and message schemas, subjects, NATS/DB/log helpers."""
