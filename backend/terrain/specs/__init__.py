"""specs domain."""
