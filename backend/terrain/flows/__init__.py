"""Flows: work that spans several domains (a sync batch touches specs, responses, attachments, audit).

Domains never import a flow; flows import domains' services and models."""
