"""points: comprehensive evaluation points for bank outlet staff, as an event-sourced gRPC service."""
