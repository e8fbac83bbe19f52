"""Platform connectors: programs outside the system that publish chat events to it (CONTRACT.md §5)."""
