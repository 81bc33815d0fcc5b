"""What every stood-in API shares: state, config, routing, errors, validation, faults,
operations, the request log and the credentials the sandbox issues."""
