"""sync domain: the device protocol (push batches, pull cursor) and its bookkeeping tables."""
