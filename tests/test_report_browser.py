"""The report page in a real headless Chromium (Debian's chromium + chromedriver, driven by selenium):
it loads without console errors, every chart draws, the filters narrow the table, a judgment opens
with highlighted code; a full-page screenshot goes to $CODEFAVOR_TEST_ARTIFACTS (default
test-artifacts/). Marked `browser`: not part of `make test`; `.ci/run` runs it where chromium is."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from codefavor.benchmark.html_report import write_report
from codefavor.benchmark.runner import BenchProtocol, run_bench
from codefavor.judges import load_judge
from codefavor.records import BenchTask

pytestmark = pytest.mark.browser
webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("plotly")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("CODEFAVOR_TEST_ARTIFACTS", "test-artifacts"))


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if not (CHROMIUM and DRIVER):
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    tmp = tmp_path_factory.mktemp("browser")
    tasks = []
    for i in range(40):
        cat = ["correctness", "efficiency", "security", "human-preference"][i % 4]
        tasks.append(
            BenchTask(
                task_id=f"Toy/{i}",
                instruction=f"Return {i}, fast and safely.",
                category=cat,
                gt_choice=i % 2,
                choices=(f"def f():\n    return {i}\n", f"def f():\n    value = {i}\n    return value\n"),
            )
        )
    for spec in ("shorter", "random:1"):
        run_bench(load_judge(spec), tasks, tmp / spec.replace(":", "_"), protocol=BenchProtocol(both_orders=True))
    out = write_report([tmp / "shorter", tmp / "random_1"], tmp / "report.html", tasks=tasks, n_boot=300)

    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.get(out.resolve().as_uri())
        deadline = time.time() + 60
        while driver.execute_script("return document.body.dataset.ready") != "1":
            if time.time() > deadline:
                raise AssertionError("the page did not finish loading: " + driver.find_element("id", "cf-status").text)
            time.sleep(0.1)
        yield driver, tasks
    finally:
        driver.quit()


def _count(driver) -> tuple[int, int]:
    shown, _, total, _ = driver.find_element("id", "count").text.split(maxsplit=3)
    return int(shown), int(total)


def _select(driver, element_id: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", element_id)).select_by_value(value)


def test_loads_without_console_errors(page):
    driver, _ = page
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors


def test_every_chart_draws(page):
    driver, _ = page
    for name in ("accuracy", "differences", "signals", "position", "cost"):
        marks = driver.execute_script(
            "const el = document.getElementById(arguments[0]);"
            "return el.querySelectorAll('svg.main-svg .trace path, svg.main-svg .trace .point').length;",
            f"fig-{name}",
        )
        assert marks > 0, f"chart {name} drew nothing"


def test_filters_narrow_the_table_and_details_open(page):
    driver, tasks = page
    shown, total = _count(driver)
    assert shown == total == 2 * 2 * len(tasks)
    _select(driver, "f-category", "efficiency")
    assert _count(driver)[0] == 2 * 2 * 10
    _select(driver, "f-run", "0")  # shorter: the first code is always shorter, right where gt is 0
    _select(driver, "f-outcome", "wrong")
    shown = _count(driver)[0]
    assert shown == sum(1 for t in tasks if t.category == "efficiency" and t.gt_choice == 1) * 2 > 0
    rows = driver.find_elements("css selector", "#judgments tbody tr")
    assert len(rows) == shown and all("wrong" in r.text for r in rows)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", rows[0])
    rows[0].click()
    detail = driver.find_element("id", "detail")
    assert detail.is_displayed() and "Instruction" in detail.text
    assert len(detail.find_elements("css selector", ".codes pre code.hljs")) == 2
    assert detail.find_elements("css selector", "code.hljs span.hljs-keyword")  # highlighted
    _select(driver, "f-outcome", "")
    _select(driver, "f-run", "")
    _select(driver, "f-category", "")
    button = driver.find_element("css selector", ".show-disagree")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)  # clear of the sticky nav
    button.click()
    n_dis = _count(driver)[0]
    assert 0 < n_dis < total
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(height, 12000))
    time.sleep(0.5)
    assert driver.save_screenshot(str(ARTIFACTS / "report.png"))
