"""The adoption-stage engine: gates, promotions, stage clocks, windows and statuses."""
