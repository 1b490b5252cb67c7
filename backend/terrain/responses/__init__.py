"""responses domain: questionnaires filled, interviews held, observation entries, with their revisions."""
