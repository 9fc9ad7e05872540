"""Throttling: failed authentication per client address and per key prefix, and expensive
operations per organisation, counted in PostgreSQL so every API process sees one count."""
