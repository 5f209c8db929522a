"""Flask extensions, instantiated once and bound to the app in create_app (the rate limiter is per app:
modelwatch.auth.rate_limits)."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()
migrate = Migrate()
login_manager = LoginManager()
