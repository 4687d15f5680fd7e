"""Training the span reader (`make reader`); not imported by the service."""
