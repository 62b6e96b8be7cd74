"""Adoption tracking: the feature catalogue, platform usage, and the records behind the
business metrics."""
