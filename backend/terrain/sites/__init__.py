"""sites domain."""
