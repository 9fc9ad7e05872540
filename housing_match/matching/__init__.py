"""The matcher: person profiles, hard constraints, ranking that explains itself, allocation."""
