"""A reference connector that simulates customers chatting on WhatsApp, Instagram and the web widget.

`python -m connectors.simulator --help`; the guide for connector authors is docs/connectors.md.
"""
