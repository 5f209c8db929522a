"""Flask CLI commands (``flask --app wsgi ...``)."""
from __future__ import annotations

import click
from flask import Flask, g
from flask.cli import AppGroup

from modelwatch.auth.permissions import DEFAULT_TOKEN_SCOPES, ROLES, SCOPES
from modelwatch.auth.principal import CLI
from modelwatch.errors import ModelwatchError
from modelwatch.execution.executors import get_executor
from modelwatch.services.demo import DEMO_CONFIG, run_examples
from modelwatch.services.retention import collect_garbage, parse_age
from modelwatch.services.runs import wait_for_run
from modelwatch.services.tokens import create_token, list_tokens, revoke_token
from modelwatch.services.users import create_user, get_user, list_users, set_role

tokens_cli = AppGroup("tokens", help="API tokens for pipelines (only their sha256 is stored).")
users_cli = AppGroup("users", help="Dashboard users and their roles (viewer, editor, admin).")


def _as_operator() -> None:
    """The audit trail names the shell's operator as ``cli``."""
    g.principal = CLI


def _show(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@tokens_cli.command("create")
@click.option("--name", required=True, help="who or what uses the token, e.g. ci")
@click.option("--user", "username", default=None, help="the owning user (the token never exceeds their role)")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES),
              help=f"repeatable; default {' and '.join(DEFAULT_TOKEN_SCOPES)}")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="days until it expires")
def create_token_command(name: str, username: str | None, scopes: tuple[str, ...], expires_days: int | None) -> None:
    """Create a token and print it once."""
    _as_operator()
    try:
        token, secret = create_token(name, get_user(username) if username else None, list(scopes) or None,
                                     expires_days)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(secret)
    click.echo(f"Token {token.name!r} created. It is shown only this once: store it in your CI secrets.", err=True)


@tokens_cli.command("list")
@click.option("--user", "username", default=None, help="only this user's tokens")
def list_tokens_command(username: str | None) -> None:
    """List tokens: name, user, scopes, created, expires, last used, revoked."""
    try:
        tokens = list_tokens(get_user(username) if username else None)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{'name':<24} {'user':<16} {'scopes':<32} {'created':<17} {'expires':<17} {'last used':<17} "
               "revoked")
    for token in tokens:
        click.echo(f"{token['name']:<24} {token['user'] or '-':<16} {','.join(token['scopes']):<32} "
                   f"{_show(token['created_at']):<17} {_show(token['expires_at']):<17} "
                   f"{_show(token['last_used_at']):<17} {_show(token['revoked_at'])}")


@tokens_cli.command("revoke")
@click.argument("name")
def revoke_token_command(name: str) -> None:
    """Revoke the token called NAME."""
    _as_operator()
    try:
        revoke_token(name)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Token {name!r} revoked.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--email", default=None)
@click.password_option(help="asked for (twice) when not given; at least 10 characters")
def create_user_command(username: str, role: str, email: str | None, password: str) -> None:
    """Create the user USERNAME (the first one: --role admin)."""
    _as_operator()
    try:
        user = create_user(username, password, role, email)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"User {user.username!r} created with the role {user.role}.")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(ROLES))
def set_role_command(username: str, role: str) -> None:
    """Change the role of USERNAME."""
    _as_operator()
    try:
        set_role(username, role)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"User {username!r} is now {role}.")


@users_cli.command("list")
def list_users_command() -> None:
    """List users: name, email, role, created, last sign-in."""
    click.echo(f"{'username':<24} {'email':<32} {'role':<8} {'created':<17} last sign-in")
    for user in list_users():
        click.echo(f"{user['username']:<24} {user['email'] or '-':<32} {user['role']:<8} "
                   f"{_show(user['created_at']):<17} {_show(user['last_login_at'])}")


@click.command("demo")
@click.option("--only", "keys", multiple=True, help="one example key (repeatable): cancer_forest, diabetes_regressor, "
              "churn_pipeline")
@click.option("--wait/--no-wait", default=True, help="wait for the runs to finish (default) or return at once")
@click.option("--samples", type=click.IntRange(10, 1_000_000), default=None, help="rows to generate per run")
def demo_command(keys: tuple[str, ...], wait: bool, samples: int | None) -> None:
    """Seed the example models (scikit-learn's bundled datasets) and run the suite on each."""
    _as_operator()
    wait = wait or get_executor().name != "celery"  # a thread pool lives in this process: it must stay up
    try:
        config = {**DEMO_CONFIG, "n_samples": samples} if samples else None
        submitted = run_examples(list(keys) or None, config=config, source="api")
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    for run in submitted:
        status = wait_for_run(run.id, 600, cap_s=600).status if wait else run.status
        click.echo(f"{run.id}  {status:<10} {run.name}  /runs/{run.id}")


@click.command("gc")
@click.option("--older-than", "older_than", default=None, metavar="AGE",
              help="also remove finished runs created more than AGE ago (90d, 12h, 30m)")
@click.option("--dry-run", is_flag=True, help="count what would be removed, remove nothing")
def gc_command(older_than: str | None, dry_run: bool) -> None:
    """Remove deleted runs (and, with --older-than, old finished runs) and the model files no run uses."""
    try:
        removed = collect_garbage(parse_age(older_than) if older_than else None, dry_run=dry_run)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {removed['runs']} run(s) and {removed['artifacts']} model file(s).")


def register(app: Flask) -> None:
    """Attach the project's CLI command groups to the app."""
    app.cli.add_command(tokens_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(gc_command)
