"""Helpers of the reactive-tls-client test charm (not handlers: those are in reactive/)."""
