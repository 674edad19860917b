"""The state store: SQLAlchemy models and engine (`models.py`, `db.py`), Alembic migrations, the key file
that encrypts device secrets (`secrets.py`), and the small writers every domain shares (events, sites,
tokens)."""
