"""The append-only history of changes, written in the same transaction as each change."""
