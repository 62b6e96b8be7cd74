"""The JSON API under /api/v1 and the xAPI statements resource, authenticated by API tokens."""
