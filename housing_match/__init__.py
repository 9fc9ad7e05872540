"""housing-match: safety-net rental housing (セーフティネット住宅) for people leaving prison."""

__version__ = "0.1.0"
