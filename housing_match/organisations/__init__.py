"""Organisations (centers, support corporations, municipalities, admins) and their API keys."""
