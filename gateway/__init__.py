"""The HTTP gateway: authenticates, validates, fans out to the services, assembles the profile view."""
