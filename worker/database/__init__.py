"""The database: engines for SQLite and PostgreSQL, the unit of work, the schema version."""
