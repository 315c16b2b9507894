"""Database: SQLAlchemy 2.x models, engine/session factory, Alembic migrations."""
