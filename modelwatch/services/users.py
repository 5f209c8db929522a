"""Users as use cases: create, check a password, change a role, list. Passwords are stored as argon2id hashes."""
from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from modelwatch.auth.permissions import ROLES
from modelwatch.errors import BadRequest, NotFound
from modelwatch.extensions import db
from modelwatch.models import User, utcnow

MIN_PASSWORD = 10
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
_HASHER = PasswordHasher()
# verifying against this when the user does not exist costs the same time: no username oracle from timing
_DUMMY_HASH = _HASHER.hash("modelwatch-no-such-user")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise BadRequest(f"The role must be one of {', '.join(ROLES)}.", {"field": "role", "valid": list(ROLES)})
    return role


def create_user(username: str, password: str, role: str = "viewer", email: str | None = None) -> User:
    """Create a user.

    Raises:
        BadRequest: the username, email, password or role is invalid, or the username/email is taken.
    """
    username = (username or "").strip()
    email = (email or "").strip() or None
    if not USERNAME.match(username):
        raise BadRequest("A username has 1 to 100 letters, digits or . _ @ -.", {"field": "username"})
    if email is not None and ("@" not in email or len(email) > 254):
        raise BadRequest("The email address is not valid.", {"field": "email"})
    if len(password or "") < MIN_PASSWORD:
        raise BadRequest(f"A password needs at least {MIN_PASSWORD} characters.", {"field": "password"})
    _check_role(role)
    taken = User.query.filter(db.or_(User.username == username, User.email == (email or username))).first()
    if taken is not None:
        raise BadRequest("That username or email is already used.", {"field": "username"})
    user = User(username=username, email=email, password_hash=_HASHER.hash(password), role=role)
    db.session.add(user)
    db.session.commit()
    return user


def check_password(login: str, password: str) -> User | None:
    """The active user with this username (or email) and password, else None (same cost either way)."""
    login = (login or "").strip()
    user = User.query.filter(db.or_(User.username == login, User.email == login)).first() if login else None
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = _HASHER.hash(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def get_user(username: str) -> User:
    """Raises: NotFound: no such user."""
    user = User.query.filter_by(username=username).one_or_none()
    if user is None:
        raise NotFound(f"No user named {username!r}.", {"username": username})
    return user


def set_role(username: str, role: str) -> User:
    """Change a user's role; their sessions and tokens follow at their next request.

    Raises:
        NotFound: no such user.
        BadRequest: not a role.
    """
    user = get_user(username)
    user.role = _check_role(role)
    db.session.commit()
    return user


def list_users() -> list[dict[str, Any]]:
    """Every user (never a hash), oldest first."""
    return [{"username": u.username, "email": u.email, "role": u.role, "active": u.active,
             "created_at": u.created_at, "last_login_at": u.last_login_at}
            for u in User.query.order_by(User.created_at, User.id).all()]
