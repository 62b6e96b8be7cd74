"""The home page, the health check and the error pages."""
