"""One Alembic revision per inventory schema version (see ``store.migrations``)."""
