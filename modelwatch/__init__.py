"""modelwatch: tells whether a trained model file is fit to ship.

Kept free of imports, so that importing any part (the sandbox child imports ``modelwatch.core``) loads only that
part; the app is built by ``modelwatch.app.create_app``.
"""
__version__ = "0.1.0"
