"""Pure domain code: schema, data, intake, sandbox and checks. Never imports flask, dash or the database."""
