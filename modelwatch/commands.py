"""Flask CLI commands (``flask --app wsgi ...``)."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from modelwatch.errors import ModelwatchError

tokens_cli = AppGroup("tokens", help="API tokens for pipelines (only their sha256 is stored).")


@tokens_cli.command("create")
@click.option("--name", required=True, help="who or what uses the token, e.g. ci")
def create_token_command(name: str) -> None:
    """Create a token and print it once."""
    from modelwatch.services.tokens import create_token

    try:
        token, secret = create_token(name)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(secret)
    click.echo(f"Token {token.name!r} created. It is shown only this once: store it in your CI secrets.", err=True)


@tokens_cli.command("list")
def list_tokens_command() -> None:
    """List tokens: name, created, last used, revoked."""
    from modelwatch.services.tokens import list_tokens

    def show(moment) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"

    click.echo(f"{'name':<24} {'created':<17} {'last used':<17} revoked")
    for token in list_tokens():
        click.echo(f"{token['name']:<24} {show(token['created_at']):<17} {show(token['last_used_at']):<17} "
                   f"{show(token['revoked_at'])}")


@tokens_cli.command("revoke")
@click.argument("name")
def revoke_token_command(name: str) -> None:
    """Revoke the token called NAME."""
    from modelwatch.services.tokens import revoke_token

    try:
        revoke_token(name)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"Token {name!r} revoked.")


@click.command("demo")
@click.option("--only", "keys", multiple=True, help="one example key (repeatable): cancer_forest, diabetes_regressor, "
              "churn_pipeline")
@click.option("--wait/--no-wait", default=True, help="wait for the runs to finish (default) or return at once")
@click.option("--samples", type=click.IntRange(10, 1_000_000), default=None, help="rows to generate per run")
def demo_command(keys: tuple[str, ...], wait: bool, samples: int | None) -> None:
    """Seed the example models (scikit-learn's bundled datasets) and run the suite on each."""
    from modelwatch.services.demo import DEMO_CONFIG, run_examples
    from modelwatch.services.executor import get_executor
    from modelwatch.services.runs import wait_for_run

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
    from modelwatch.services.retention import collect_garbage, parse_age

    try:
        removed = collect_garbage(parse_age(older_than) if older_than else None, dry_run=dry_run)
    except ModelwatchError as exc:
        raise click.ClickException(exc.message) from exc
    verb = "Would remove" if dry_run else "Removed"
    click.echo(f"{verb} {removed['runs']} run(s) and {removed['artifacts']} model file(s).")


def register(app: Flask) -> None:
    """Attach the project's CLI command groups to the app."""
    app.cli.add_command(tokens_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(gc_command)
