"""Use cases over the event store: eventsourcing Applications that return plain data."""
