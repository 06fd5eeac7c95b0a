"""Read models projected from the event log, each written with its tracking position in one transaction."""
