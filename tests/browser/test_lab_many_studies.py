"""The Experience sidebar with 10,000 studies (issue 22): a virtualised list that fetches only what is in view.

The store is filled by ``ExperienceStore.bulk_import`` (as the list route's benchmark does),
then the sidebar is opened, scrolled to its end and back: the page holds only the rows in
view (plus a margin), and the rows at the end are fetched when scrolled to.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from lab_server import SPACE, start_with_extension

from jupyter_metahpo.store import ExperienceStore

N_STUDIES = 10_000
ROW = ".jp-MetaHPO-row"


@pytest.fixture(scope="module")
def crowded_lab(tmp_path_factory, jupyter_starter):
    start, stop = jupyter_starter
    base = tmp_path_factory.mktemp("lab-many")
    with pytest.MonkeyPatch.context() as monkeypatch:
        server, process = start_with_extension(base, "lab", start, monkeypatch)
    rng = np.random.default_rng(0)
    store = ExperienceStore(server.store, durable=False)
    with store.bulk_import() as batch:
        for k in range(N_STUDIES):
            frame = pd.DataFrame({"lr": 10 ** rng.uniform(-4, -1, 3), "depth": rng.integers(1, 9, 3),
                                  "kind": rng.choice(["a", "b"], 3), "value": rng.normal(0.5, 0.2, 3)})
            batch.import_dataframe(frame, space=SPACE, name=f"study-{k:05d}", task=f"task-{k % 50}")
    ExperienceStore(server.store).summaries()  # the summaries cache, as a store in use has it
    try:
        yield server
    finally:
        stop(process)


def _rows_in_page(page) -> list[tuple[int, str]]:
    """(top in px, name) of every row element the page holds."""
    return page.eval_on_selector_all(
        ROW, "rows => rows.map(r => [parseInt(r.style.top), r.querySelector('.jp-MetaHPO-name')?.textContent ?? ''])"
    )


def test_ten_thousand_studies_scroll_from_end_to_end_with_only_the_rows_in_view(crowded_lab, browser):
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{crowded_lab.url}lab?reset&token={crowded_lab.token}")
    began = time.monotonic()
    page.locator('.jp-SideBar [data-id="jp-metahpo-experience"]').click()
    page.locator(".jp-MetaHPO-footer", has_text="10,000 studies").wait_for()
    page.locator(f"{ROW} .jp-MetaHPO-name", has_text="study-").first.wait_for()
    first_shown = time.monotonic() - began
    held = _rows_in_page(page)
    assert 5 <= len(held) < 200, len(held)  # the rows in view and a margin, never the 10,000

    row_height = page.evaluate("() => document.querySelector('.jp-MetaHPO-row').offsetHeight")
    began = time.monotonic()
    page.eval_on_selector(".jp-MetaHPO-list", "list => { list.scrollTop = list.scrollHeight; }")
    last_top = (N_STUDIES - 1) * 52  # panel.ts ROW_HEIGHT: the last row's place in the list
    page.wait_for_function(
        """top => [...document.querySelectorAll('.jp-MetaHPO-row')].some(
            r => parseInt(r.style.top) === top && (r.querySelector('.jp-MetaHPO-name')?.textContent ?? '').startsWith('study-'))""",
        arg=last_top,
    )
    end_shown = time.monotonic() - began
    held = _rows_in_page(page)
    assert len(held) < 200 and max(top for top, _ in held) == last_top
    names = {name for _, name in held if name.startswith("study-")}
    assert len(names) >= len(held) - 1  # each row a different study, loaded (a margin row may still wait)

    page.eval_on_selector(".jp-MetaHPO-list", "list => { list.scrollTop = 0; }")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-MetaHPO-row')].some(r => parseInt(r.style.top) === 0)"
    )
    print(f"\n10,000 studies: first rows {first_shown:.2f} s after opening the sidebar, the last rows "
          f"{end_shown:.2f} s after scrolling to the end; {len(held)} row elements in the page; row height "
          f"{row_height}px")
    page.context.close()
