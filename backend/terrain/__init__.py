"""Terrain: field surveys, interview guides and observation logs for the social sector."""

__version__ = "0.1.0"
