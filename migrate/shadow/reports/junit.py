"""The verdict as JUnit XML for CI dashboards: one test case per gate (slices included) plus the verdict.

Mapping: PASS -> a passing case; FAIL -> <failure type="FAIL">; INCONCLUSIVE -> <skipped> for a gate
(it is neither passed nor failed) and <failure type="INCONCLUSIVE"> for the overall verdict case (the
`gate` command exits 3, so the CI job fails and the dashboard should say why); a gate that is not
configured -> <skipped message="not gated">. Numbers ride along as <properties>.
"""

from __future__ import annotations

from typing import Any, Mapping
from xml.etree import ElementTree as ET


def _case(suite: ET.Element, classname: str, name: str, status: str, message: str, *, verdict: bool = False) -> None:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    if not message.startswith(status):
        message = f"{status}: {message}"
    if status in ("FAIL", "ROUTED") or (verdict and status == "INCONCLUSIVE"):
        failure = ET.SubElement(case, "failure", message=message, type=status)
        failure.text = message
    elif status in ("INCONCLUSIVE", "NOT_GATED"):
        ET.SubElement(case, "skipped", message=message.replace("NOT_GATED", "not gated", 1))
    out = ET.SubElement(case, "system-out")
    out.text = message


def render(doc: Mapping[str, Any]) -> str:
    v = doc["verdict"]
    models = doc["run"]["models"]
    root = ET.Element("testsuites", name="flm shadow gate")
    suite = ET.SubElement(root, "testsuite", name=f"shadow verdict: {models.get('candidate')} vs {models.get('primary')}")
    props = ET.SubElement(suite, "properties")
    s = doc["settings"]
    for key, value in (("verdict", v["status"]), ("exit_code", v["exit_code"]), ("primary", models.get("primary")),
                       ("candidate", models.get("candidate")), ("margin", s["margin"]), ("confidence", s["confidence"]),
                       ("prompts_compared", doc["coverage"]["compared"]), ("prompts_needed", v.get("prompts_needed")),
                       ("prices_as_of", doc["cost"]["pricing"]["as_of"]), ("run", doc["run"]["folder"])):
        ET.SubElement(props, "property", name=key, value="" if value is None else str(value))
    _case(suite, "shadow", "verdict", v["status"], v["headline"], verdict=True)
    for g in doc["gates"]:
        classname = "shadow.slices" if g["id"].startswith("slice:") else "shadow.gates"
        name = g["id"].split(":", 1)[1] if g["id"].startswith("slice:") else g["id"]
        _case(suite, classname, name, g["status"], f"{g['name']}: {g['summary']}")
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    suite.set("errors", "0")
    suite.set("time", "0")
    for key in ("tests", "failures", "skipped", "errors"):
        root.set(key, suite.get(key))  # type: ignore[arg-type]
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
