"""Fixtures: the app against SQLite and PostgreSQL, its clients, and models built from sklearn's datasets."""
from __future__ import annotations

import contextlib
import os

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelwatch.app import create_app
from modelwatch.core.sandbox import runner as sandbox
from modelwatch.core.sandbox.privileges import SandboxUnavailable
from modelwatch.core.warm import keep_compiled_on_disk
from modelwatch.extensions import db
from modelwatch.settings import Settings, TestSettings
from tests.support import dumps, per_worker, require

POSTGRES_URL = os.environ.get("MODELWATCH_TEST_POSTGRES_URL")  # the shared server: see ``postgres_url``

# marker -> why it exists; `make test-fast` deselects all of them (no sandbox, no browser, no servers, nothing slow)
MARKERS = {
    "sandbox": "starts sandboxed tasks (it requests the `sandbox` fixture, directly or through another fixture)",
    "browser": "drives headless Chromium through dash_duo",
    "postgres": "runs against the PostgreSQL server of MODELWATCH_TEST_POSTGRES_URL",
    "redis": "needs the Redis server of MODELWATCH_TEST_REDIS_URL",
    "e2e": "starts the whole app, a gunicorn or a Celery worker on loopback",
    "slow": "set by hand (@pytest.mark.slow): costs several seconds on an idle machine without any sandbox",
}


def pytest_configure(config):
    for name, why in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {why}")


def pytest_collection_modifyitems(items):
    """Derive the markers from what a test uses, so a new test is classified without anyone remembering to."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "sandbox" in fixtures:
            item.add_marker("sandbox")
        if fixtures & {"browser", "dash_duo"}:
            item.add_marker("browser")
        if params.get("db_url") == "postgresql":
            item.add_marker("postgres")
        if any(isinstance(value, str) and value == "celery" for value in params.values()):
            item.add_marker("redis")
        if "e2e" in item.path.parts:
            item.add_marker("e2e")
    # the modules that start whole servers (the longest) first: `make test` hands modules to its two workers in this
    # order, and one of them starting last would leave the other worker idle until it ends
    items.sort(key=lambda item: "e2e" not in item.path.parts)


def pytest_setup_options():
    """Chromium flags for dash_duo on a closed network (../shared/STACK-NOTES.md)."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in ("--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    return options


@pytest.fixture(scope="session", autouse=True)
def sandbox_environment():
    """What the app forwards to the sandbox (the OpenBLAS/locale variables), for tests that run tasks without one."""
    with contextlib.suppress(SandboxUnavailable):  # root without the sandbox user: the tests that need it say so
        sandbox.configure(passed_env=Settings.SANDBOX_ENV, numba_cache=Settings.SANDBOX_NUMBA_CACHE)


@pytest.fixture(scope="session", autouse=True)
def kernels_on_disk():
    """Tests that call our numba kernels in their own process load them from the cache an earlier run wrote
    (``__pycache__`` beside the code), as the sandbox's warm worker does from its own, instead of compiling them."""
    keep_compiled_on_disk()


@pytest.fixture(scope="session", name="sandbox")
def sandbox_runner():
    """The sandbox's runner, configured as the app configures it. Every test that starts sandboxed tasks, through
    the app or ``run_task``, requests it (directly or through one of its fixtures): it is then marked ``sandbox``
    (a warm zygote, seconds a task) and ``make test-fast`` leaves it out."""
    return sandbox


@pytest.fixture(params=[True, False], ids=["warm", "cold"])
def warm(request, sandbox):
    """The operator's switch: fork the warm worker, or start a fresh interpreter per task."""
    sandbox.configure(warm=request.param)
    yield request.param
    sandbox.configure()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """This pytest worker's own database on the PostgreSQL server of MODELWATCH_TEST_POSTGRES_URL."""
    require(POSTGRES_URL, "PostgreSQL is not available (set MODELWATCH_TEST_POSTGRES_URL; .ci/run starts one)")
    return per_worker(POSTGRES_URL)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """Every database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_url")


def make_config(url: str, **overrides) -> type[TestSettings]:
    return type("Settings", (TestSettings,), {"SQLALCHEMY_DATABASE_URI": url, **overrides})


@pytest.fixture
def app(db_url):
    app = create_app(make_config(db_url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def cancer():
    data = load_breast_cancer(as_frame=True)
    return data.frame.drop(columns="target"), data.frame["target"]


@pytest.fixture(scope="session")
def forest(cancer):
    """A small forest fitted on a numpy array (no feature names)."""
    X, y = cancer
    return RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X.to_numpy(), y)


@pytest.fixture(scope="session")
def forest_bytes(forest) -> bytes:
    return dumps(forest)


@pytest.fixture(scope="session")
def frame_logistic(cancer):
    """A scaled logistic regression fitted on a DataFrame: it knows its feature names."""
    X, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)


@pytest.fixture(scope="session")
def diabetes_regressor():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return LinearRegression().fit(X, y)


@pytest.fixture(scope="session")
def churn_frame() -> pd.DataFrame:
    """A churn-like frame with string categories, numbers and a binary label."""
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "plan": rng.choice(["basic", "plus", "pro"], n),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "tenure": rng.integers(1, 72, n).astype(float),
        "monthly": rng.normal(50, 15, n).round(2),
    })
    logit = 0.04 * (frame["monthly"] - 50) - 0.05 * (frame["tenure"] - 36) + (frame["plan"] == "basic") * 0.8
    frame["churn"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@pytest.fixture(scope="session")
def churn_pipeline(churn_frame):
    encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["plan", "region"])],
                               remainder=StandardScaler())
    return make_pipeline(encode, LogisticRegression(max_iter=500)).fit(churn_frame.drop(columns="churn"),
                                                                       churn_frame["churn"])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The whole app (pages and API) served on loopback by a threaded Werkzeug server, once per session.

    Dash keeps its pages in process-wide registries, so the dashboard is mounted once and shared.
    """
    from threading import Thread

    from werkzeug.serving import make_server

    from tests.support import free_port

    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    app = create_app(make_config(url, DASHBOARD=True, EXECUTOR="threads", EXECUTOR_WORKERS=2))
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser(request):
    """dash_duo's headless Chromium, or a skip (locally) / failure (CI) naming what is missing."""
    import shutil

    require(shutil.which("chromedriver") and (shutil.which("chromium") or shutil.which("google-chrome")),
            "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    return request.getfixturevalue("dash_duo")
