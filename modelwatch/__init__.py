"""modelwatch: tells whether a trained model file is fit to ship."""
__version__ = "0.1.0"


def create_app(config=None):
    """Build the Flask app (see modelwatch.app.create_app)."""
    from modelwatch.app import create_app as factory

    return factory(config)
