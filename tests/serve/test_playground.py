"""The playground page in a real browser (Debian's headless Chromium through
Selenium): no console errors, text streamed into the page, the controls in the
request, Stop, and line completion's ghost text."""

import pytest

import charlstm
from charlstm.serve.http import make_app
from tests.browser import chromium, console_errors
from tests.serve_helpers import serving

# Records the page's requests and the lengths the output area goes through.
SPY = """
window.sent = [];
const fetched = window.fetch;
window.fetch = (url, init) => {
  if (init && init.body) window.sent.push(JSON.parse(init.body));
  return fetched(url, init);
};
window.lengths = [];
new MutationObserver(() => {
  window.lengths.push(document.getElementById("output").textContent.length);
}).observe(document.getElementById("output"), {childList: true, subtree: true,
  characterData: true});
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("chromium")) as driver:
        driver.set_script_timeout(20)
        yield driver


@pytest.fixture(scope="module")
def url(trained_run):
    with serving(make_app(charlstm.load(trained_run), model="tiny")) as address:
        yield address


@pytest.fixture
def page(browser, url):
    """The playground, freshly loaded, with the spy installed; afterwards, the
    console must hold no errors."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 10).until(
        lambda b: "tiny" in b.find_element("id", "about").text
    )
    browser.execute_script(SPY)
    yield browser
    errors = console_errors(browser)
    assert errors == []


def wait_until(browser, condition, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(condition)


def element(browser, name):
    return browser.find_element("id", name)


def type_into(browser, name, text):
    field = element(browser, name)
    field.clear()
    field.send_keys(text)


def status(browser) -> str:
    return element(browser, "status").text


def test_the_page_loads_and_shows_the_model(page):
    assert "tiny: lstm on the numpy engine" in element(page, "about").text
    assert element(page, "temperature-value").text == "0.75"
    assert element(page, "top-k-value").text == "off"


def test_generate_streams_the_text_into_the_page(page, trained_run):
    type_into(page, "prompt", "head ")
    type_into(page, "length", "1500")
    type_into(page, "seed", "11")
    element(page, "generate").click()
    wait_until(page, lambda b: status(b).startswith("done"))
    shown = element(page, "output").get_attribute("textContent")
    expected = charlstm.load(trained_run).generate(
        "head ", 1500, temperature=0.75, random_seed=11
    )
    assert shown == expected[len("head ") :]
    lengths = page.execute_script("return window.lengths")
    assert len(set(lengths)) >= 5  # it grew piece by piece, not all at once
    assert lengths == sorted(lengths) and lengths[-1] == 1500
    assert page.execute_script("return window.sent")[-1]["stream"] is True


def test_the_sliders_go_into_the_request(page):
    from selenium.webdriver.common.keys import Keys

    element(page, "temperature").send_keys(Keys.ARROW_LEFT * 3)
    element(page, "top-k").send_keys(Keys.ARROW_RIGHT * 5)
    element(page, "top-p").send_keys(Keys.ARROW_LEFT)
    assert element(page, "temperature-value").text == "0.60"
    assert element(page, "top-k-value").text == "5"
    assert element(page, "top-p-value").text == "0.95"
    type_into(page, "length", "20")
    element(page, "generate").click()
    wait_until(page, lambda b: status(b).startswith("done"))
    sent = page.execute_script("return window.sent")[-1]
    assert sent["temperature"] == pytest.approx(0.6)
    assert (sent["top_k"], sent["top_p"]) == (5, pytest.approx(0.95))
    assert "seed" not in sent and sent["max_tokens"] == 20


def test_stop_ends_a_generation(page):
    type_into(page, "length", "4096")
    element(page, "generate").click()
    wait_until(page, lambda b: len(element(b, "output").text) > 20)
    element(page, "stop").click()
    wait_until(page, lambda b: status(b) == "stopped")
    assert len(element(page, "output").get_attribute("textContent")) < 4096
    # The server is free again: the next generation runs to its end.
    type_into(page, "length", "10")
    element(page, "generate").click()
    wait_until(page, lambda b: status(b).startswith("done"))
    assert len(element(page, "output").get_attribute("textContent")) == 10


def test_line_mode_shows_ghost_text_and_tab_accepts_it(page, trained_run):
    from selenium.webdriver.common.keys import Keys

    element(page, "temperature").send_keys(Keys.HOME)  # 0: beam search
    element(page, "line-mode").click()
    type_into(page, "prompt", "bad\nhead b")
    ghost = wait_until(page, lambda b: element(b, "ghost").text)
    best = charlstm.load(trained_run).complete("bad\nhead b", max_length=200)
    assert ghost == best.text
    request = page.execute_script("return window.sent")[-1]
    assert (request["mode"], request["temperature"]) == ("line", 0)
    # Grey, right after the cursor (the text before it is laid out under the
    # textarea's, in transparent ink).
    assert element(page, "before").get_attribute("textContent") == "bad\nhead b"
    colour = element(page, "ghost").value_of_css_property("color")
    assert colour != element(page, "prompt").value_of_css_property("color")
    element(page, "prompt").send_keys(Keys.TAB)
    value = element(page, "prompt").get_attribute("value")
    assert value == "bad\nhead b" + ghost
