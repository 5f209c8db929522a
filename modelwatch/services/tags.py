"""Tags on runs: free labels ("v2", "candidate") that History filters on."""
from __future__ import annotations

from modelwatch.errors import BadRequest
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.services.runs import get_run

MAX_TAGS = 20
MAX_TAG_LENGTH = 40


def parse_tags(text: str | list[str] | None) -> list[str]:
    """Tags from a list or a comma-separated text: trimmed, de-duplicated, in their order.

    Raises:
        BadRequest: too many tags, or a tag too long.
    """
    items = text.split(",") if isinstance(text, str) else list(text or [])
    tags: list[str] = []
    for item in items:
        tag = str(item).strip()
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG_LENGTH for t in tags):
        raise BadRequest(f"At most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters each.",
                         {"tags": tags[:MAX_TAGS + 1]})
    return tags


def set_tags(run_id: str, tags: str | list[str] | None) -> Run:
    """Replace a run's tags.

    Raises:
        NotFound: no such run.
        BadRequest: the tags are invalid.
    """
    run = get_run(run_id)
    run.tags = parse_tags(tags)
    db.session.commit()
    return run
