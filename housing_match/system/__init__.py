"""Health and service metadata."""
