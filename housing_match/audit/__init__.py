"""Municipal audit: standards, rent balance, vacancy freshness and unmet demand (issue 6)."""
