"""The registry of safety-net dwellings: registration, standards, lifecycle, search, bulk data."""
