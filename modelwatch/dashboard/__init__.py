"""The Dash UI: mounted once inside the Flask app; pages live in the top-level pages/ folder."""
