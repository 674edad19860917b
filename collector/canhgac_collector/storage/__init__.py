"""State store: models, engine setup, migrations."""
