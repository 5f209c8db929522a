"""`flask db upgrade` builds the schema on an empty database, and the models and migrations agree."""
from __future__ import annotations

import logging

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from modelwatch.app import create_app
from modelwatch.extensions import db
from tests.conftest import make_config


def test_upgrade_builds_the_schema_and_autogenerate_finds_no_difference(db_url):
    app = create_app(make_config(db_url))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        # the process's own loggers keep writing (alembic's logging set-up disabled every logger that existed)
        assert [name for name, logger in logging.root.manager.loggerDict.items()
                if name.startswith("modelwatch") and getattr(logger, "disabled", False)] == []
        assert {"model_artifact", "run", "api_token"} <= set(inspect(db.engine).get_table_names())
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
