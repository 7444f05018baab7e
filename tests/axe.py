"""axe-core in the browser tests, run despite the portal's strict Content-Security-Policy.

``page.add_script_tag`` would add an inline script, which the policy refuses;
evaluating the vendored file through the browser's devtools channel is not a
page script, so the policy under test stays exactly as production sends it.
"""

from pathlib import Path

import pytest

AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
#: WCAG 2.0 to 2.2, levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_inject(page) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
