"""Screenshots of the web UI pages docs/ui.md shows that changed with issue 15's panels.

Seeds a fresh store the way tests/ui does (``tests/ui/seed.py``), adds a 100,000-point
run, a prediction log of the ``churn`` endpoint (with failed requests), a pending approval
request and a second project (the header's switcher), serves it on loopback and saves the
pages with Debian's Chromium into ``docs/img``::

    PYTHONPATH=src .venv/bin/python scripts/ui_screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMG = REPO / "docs" / "img"
sys.path.insert(0, str(REPO))


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="ui-shots-"))
    os.environ["CONVEYOR_HOME"] = str(root)  # the server and the log writer agree on it
    from playwright.sync_api import sync_playwright
    from tests.monitoring.test_loop_helpers import write_failures, write_log
    from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.ui.seed import seed

    from conveyor._util import now_ms
    from conveyor.api import create_app
    from conveyor.api.testing import ServerThread
    from conveyor.backend.http import HttpBackend
    from conveyor.backend.local import LocalBackend
    from conveyor.governance.identity import Actor
    from conveyor.monitoring.windows import default_log_uri
    from conveyor.tracking.metric_rows import MetricRows

    backend = LocalBackend.from_settings()
    with ServerThread(create_app(backend, auth="insecure-local")) as server:
        with HttpBackend(server.url) as client:
            data = seed(client, root)
            big = client.create_run(data["experiment"].id, name="long-training")
            n = 100_000
            values = [1 / (1 + s / 1000) + (s % 97) / 3000 for s in range(n)]
            steps = list(range(n))
            stamps = [big.start_time + 10 * s for s in steps]
            client.log_batch(big.id, metrics=MetricRows(["loss"] * n, values, steps, stamps))
            client.end_run(big.id, "FINISHED")
            client.create_project("fraud", "the fraud team's models")
        start = now_ms() - 55 * 60_000
        write_log(Path(default_log_uri()), n_requests=240, start_ms=start)
        # a burst of failed requests 20 minutes into the traffic
        burst = [start + 20 * 60_000 + i * 4_000 for i in range(60)]
        write_failures(Path(default_log_uri()), burst, endpoint="churn")
        requester = LocalBackend(backend.meta, backend.artifacts, Actor("dana"))
        requester.request_approval("churn", 1, "alias:prod", "AUC 0.91 on the holdout")
        card = {
            "overview": "Churn risk of retail customers, scored nightly.",
            "use_cases": ["rank customers for the retention campaign"],
            "limitations": ["not for B2B accounts", "labels arrive a week late"],
        }
        backend.set_model_card_fields("churn", 1, card)
        # path, file, height (None: the viewport), the <summary> to open
        shots = [
            (f"/runs/{big.id}?tab=metrics", "ui-run-100k-points.png", None, None),
            ("/experiments", "ui-project-switcher.png", 420, None),
            ("/endpoints/churn", "ui-endpoint.png", 1750, None),
            ("/models/churn/versions/1", "ui-model-version-governance.png", 2000, "Request an"),
        ]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, base_url=server.url
            )
            page = context.new_page()
            for path, name, height, summary in shots:
                page.set_viewport_size({"width": 1280, "height": height or 900})
                page.goto(path)
                page.wait_for_load_state("networkidle")
                page.wait_for_function("() => !document.querySelector('.state.loading')")
                if summary:
                    page.locator("summary", has_text=summary).click()
                time.sleep(0.3)  # let the canvas charts paint
                page.screenshot(path=str(IMG / name))
                print(f"wrote {IMG / name}")
            browser.close()
    backend.close()


if __name__ == "__main__":
    main()
