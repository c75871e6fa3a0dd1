"""REST API under ``/api/v1``: thin routers over the domain's use cases and read models."""
