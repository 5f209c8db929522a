"""The upload page says at once, when the sample is dropped, whether its columns fit the uploaded model."""
from __future__ import annotations

import pytest

from tests.pages.test_upload_page import data_url, upload_page  # noqa: F401 (the page fixture)
from tests.support import dumps


@pytest.mark.usefixtures("sandbox")
def test_a_sample_that_does_not_fit_is_refused_on_drop(upload_page, frame_logistic, cancer):  # noqa: F811
    _, store, _ = upload_page.store_model(data_url(dumps(frame_logistic)), "logistic.pkl", None)
    X, y = cancer
    unrelated = X.head(20).set_axis([f"c{i}" for i in range(X.shape[1])], axis=1)
    contents, message = upload_page.keep_sample(data_url(unrelated.to_csv(index=False).encode()), "u.csv", store,
                                                None)
    assert contents and "refused" in str(message) and "shares no column" in str(message)
    fitting = X.head(20).assign(label=y.head(20)).to_csv(index=False).encode()
    _, message = upload_page.keep_sample(data_url(fitting), "s.csv", store, "label")
    assert message == "Sample: s.csv"
