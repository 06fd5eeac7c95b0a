"""Where events and views live: database URL -> store settings, migrations, backend queries."""
