"""Vacancies posted by housing-support corporations on registered dwellings, kept fresh."""
