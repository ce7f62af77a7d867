"""JUnit XML for CI systems that show test reports (GitLab, Jenkins, Azure): one test case per
looked-at file, failing with the edits `check` would fail on; skipped files are skipped cases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict

from migrate.codemod.findings import FileResult
from migrate.report.sites import Site


def document(results: list[FileResult], sites: list[Site], display, seconds: float, suite: str = "flm check") -> bytes:
    by_file: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        by_file[site.file].append(site)
    cases = []
    failures = errors = skipped = 0
    for result in results:
        if result.status == "not-candidate":
            continue
        name = display(result.path)
        case = ET.Element("testcase", {"classname": "flashlite-migrate", "name": name, "file": name, "time": "0"})
        blocking = [s for s in by_file.get(name, []) if s.blocking]
        if result.status == "error":
            errors += 1
            ET.SubElement(case, "error", {"message": result.reason or "error", "type": "error"}).text = result.reason or ""
        elif result.status == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", {"message": result.reason or "skipped"})
        elif blocking:
            failures += 1
            rules = sorted({s.rule for s in blocking})
            message = f"{len(blocking)} change{'s' if len(blocking) != 1 else ''} needed ({', '.join(rules)})"
            failure = ET.SubElement(case, "failure", {"message": message, "type": rules[0]})
            failure.text = "\n".join(f"{s.location} {s.rule} [{s.tier}] {s.message}" for s in blocking)
        cases.append(case)
    attributes = {"name": suite, "tests": str(len(cases)), "failures": str(failures), "errors": str(errors),
                  "skipped": str(skipped), "time": f"{seconds:.3f}"}  # fmt: skip
    root = ET.Element("testsuites", {k: v for k, v in attributes.items() if k != "skipped"} | {"name": "flashlite-migrate"})
    testsuite = ET.SubElement(root, "testsuite", attributes)
    testsuite.extend(cases)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
