"""results → JUnit XML, for CI systems that show test reports (one suite per test case)."""

from __future__ import annotations

from xml.etree import ElementTree

from orchestrator.model import Outcome
from orchestrator.records import RunResults


def render_junit(results: RunResults) -> str:
    suites = ElementTree.Element("testsuites", name=f"webrtc-interop {results.run.id}")
    for test in results.tests:
        cells = sorted((r for r in results.cells if r.cell.test == test.name), key=lambda r: r.cell)
        if not cells:
            continue
        suite = ElementTree.SubElement(
            suites,
            "testsuite",
            name=test.name,
            tests=str(len(cells)),
            failures=str(sum(1 for r in cells if r.outcome.is_failure)),
            skipped=str(sum(1 for r in cells if r.outcome is Outcome.UNSUPPORTED)),
            time=f"{sum(r.duration_s for r in cells):.3f}",
            timestamp=results.run.started_at.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        for result in cells:
            case = ElementTree.SubElement(
                suite,
                "testcase",
                classname=f"{test.name}.{result.cell.server}",
                name=f"{result.cell.server} → {result.cell.client}",
                time=f"{result.duration_s:.3f}",
            )
            if result.outcome is Outcome.UNSUPPORTED:
                ElementTree.SubElement(case, "skipped", message=result.reason)
            elif result.outcome.is_failure:
                known = (
                    f" (known: {result.expected.reason})"
                    if result.as_expected and result.expected
                    else ""
                )
                failure = ElementTree.SubElement(
                    case,
                    "failure",
                    type=result.outcome.value,
                    message=f"{result.outcome.value}: {result.reason}{known}",
                )
                failure.text = result.reason
            if result.logs:
                output = ElementTree.SubElement(case, "system-out")
                output.text = "\n".join(f"{name}: {path}" for name, path in result.logs)
    ElementTree.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + ElementTree.tostring(suites, encoding="unicode")
        + "\n"
    )
