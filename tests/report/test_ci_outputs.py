"""CI outputs: SARIF 2.1.0 valid against the official OASIS schema, a Markdown PR summary, JUnit XML
for check, GitHub Actions annotations, and a --patch-file that `git apply` accepts."""

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from tests.test_cli import flm, git
from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

REPO = Path(__file__).resolve().parents[2]
SWAP = 'from google import genai\nclient = genai.Client()\nr = client.models.generate_content(model="gemini-2.5-pro", contents="x")\n'


@pytest.fixture(scope="session")
def sarif_schema(side_env):
    return side_env("sarif_schema")


@pytest.fixture
def ci_project(tmp_path):
    """The bundled example plus a notebook, a requirements file and a skipped file, committed in git."""
    root = tmp_path / "proj"
    shutil.copytree(REPO / "fixtures" / "example", root)
    shutil.copy(REPO / "fixtures" / "notebooks" / "vertexai_tutorial.ipynb", root / "tutorial.ipynb")
    (root / "requirements.txt").write_text("google-generativeai==0.8.3\nrequests\n")
    (root / "app" / "broken.py").write_text("import vertexai\ndef f(:\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def test_sarif_validates_against_the_official_schema(ci_project, sarif_schema):
    result = flm("scan", "--format", "sarif", "--no-cache", ".", cwd=ci_project)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    validator = jsonschema.Draft7Validator(sarif_schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    run = document["runs"][0]
    assert document["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "flashlite-migrate"
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    results = run["results"]
    assert {"FLM001", "FLM302"} <= set(rules)
    for r in results:  # every result points at its rule and a file relative to the checkout
        assert rules[r["ruleIndex"]] == r["ruleId"]
        location = r["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%" and not location["artifactLocation"]["uri"].startswith("/")
        assert r["partialFingerprints"]["flmLineHash/v1"]
    swap = next(r for r in results if r["ruleId"] == "FLM001" and "summarize.py" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
    assert swap["level"] == "error" and swap["properties"]["tier"] == "safe" and swap["properties"]["after"] == DEFAULT_TARGET
    legacy_pin = next(r for r in results if r["ruleId"] == "FLM302")
    assert legacy_pin["level"] == "warning"  # an unsafe edit this run would not apply
    notebook = next(r for r in results if "tutorial.ipynb" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
    json_line = notebook["locations"][0]["physicalLocation"]["region"]["startLine"]
    nb_lines = (ci_project / "tutorial.ipynb").read_text().splitlines()
    assert notebook["message"]["text"].startswith(f"cell {notebook['properties']['cell']}, line ")
    assert nb_lines[json_line - 1].strip().startswith('"')  # the JSON line of that source line
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert any("app/broken.py" in n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for n in notes)


def test_sarif_schema_check_is_not_a_rubber_stamp(sarif_schema):
    """The schema really constrains: a result without a message is rejected."""
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "X"}]}]}
    assert list(jsonschema.Draft7Validator(sarif_schema).iter_errors(bad))


def test_markdown_summary_for_a_pr_comment(ci_project):
    result = flm("check", "--format", "markdown", "--no-cache", ".", cwd=ci_project)
    assert result.returncode == 1
    text = result.stdout
    assert text.startswith("## flashlite-migrate\n")
    assert "| Rule | Tier | Sites | What |" in text and "| `FLM001` | safe |" in text
    assert "`app/summarize.py:6:17`" in text
    assert "`tutorial.ipynb:cell 6:1:" in text  # notebook sites name the cell
    assert "<details><summary>Diff (" in text and "```diff\ndiff --git a/app/" in text
    assert "app/broken.py" in text  # skipped files listed


def test_markdown_escapes_table_cells_and_stays_under_the_comment_limit():
    from migrate.report.markdown import LIMIT, document
    from migrate.report.sites import Site
    from migrate.report.summary import RunSummary

    site = Site("a|b.py", 1, 1, None, 1, "FLM001", "safe", "x | y\nz", "old", "new", True, "k", True)
    summary = RunSummary(1, 1, 1, 1, 0, 0, 1, 0, 0.1)
    text = document([site] * 500, summary, {}, [], b"+" * 200_000)
    assert "`a\\|b.py:1:1`" in text and "x \\| y z" in text
    assert len(text) < LIMIT + 1000 and "diff truncated" in text and "| … | | | 300 more |" in text


def test_junit_for_check(ci_project, tmp_path):
    out = tmp_path / "report.xml"
    result = flm("check", "--format", "junit", "-o", str(out), "--no-cache", ".", cwd=ci_project)
    assert result.returncode == 1 and result.stdout == ""
    root = ET.parse(out).getroot()
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite.get("name") == "flm check"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert cases["app/summarize.py"].find("failure") is not None
    assert "FLM001" in cases["app/summarize.py"].find("failure").text
    assert cases["app/broken.py"].find("skipped") is not None
    assert cases["requirements.txt"].find("failure") is None  # unsafe edits do not fail check without --unsafe
    assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases.values()) >= 3
    unsafe = flm("check", "--unsafe", "--format", "junit", "--no-cache", ".", cwd=ci_project)
    unsafe_cases = {c.get("name"): c for c in ET.fromstring(unsafe.stdout).find("testsuite").findall("testcase")}
    assert unsafe_cases["requirements.txt"].find("failure") is not None


def test_github_annotations_inside_actions(ci_project):
    result = flm("check", "--no-cache", ".", cwd=ci_project, env={"GITHUB_ACTIONS": "true"})
    lines = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert f"::error file=app/summarize.py,line=6,col=17,title=FLM001 (safe)::Pro model 'gemini-2.5-pro' -> '{DEFAULT_TARGET}'" in lines
    assert any(line.startswith("::warning file=requirements.txt,line=1,col=1,title=FLM302 (unsafe)::") for line in lines)
    assert any(line.startswith("::notice file=") and "FLM105" in line for line in lines)
    notebook = next(line for line in lines if "tutorial.ipynb" in line)
    assert ",col=" not in notebook and "::cell " in notebook
    assert all("\n" not in line for line in lines)
    quiet = flm("check", "--no-cache", ".", cwd=ci_project, env={"GITHUB_ACTIONS": "false"})
    assert not [line for line in quiet.stdout.splitlines() if line.startswith("::")]
    explicit = flm("scan", "--format", "github", "--no-cache", ".", cwd=ci_project)
    assert explicit.stdout.startswith("::")


def test_annotation_escaping():
    from migrate.report.github import annotations
    from migrate.report.sites import Site

    site = Site("a,b:c.py", 1, 2, None, 1, "FLM001", "safe", "50% done\nnext", None, "x", True, "k", True)
    assert annotations([site]) == "::error file=a%2Cb%3Ac.py,line=1,col=2,title=FLM001 (safe)::50%25 done%0Anext\n"


def test_patch_file_applies_with_git(ci_project, tmp_path):
    patch = tmp_path / "out.patch"
    result = flm("fix", "--diff", "--unsafe", "--patch-file", str(patch), "--no-cache", ".", cwd=ci_project)
    assert result.returncode == 0, result.stderr
    data = patch.read_bytes()
    assert data == result.stdout.encode()  # the same patch --diff prints
    for name in ("app/summarize.py", "tutorial.ipynb", "requirements.txt"):
        assert f"diff --git a/{name} b/{name}".encode() in data
    assert b" cell " in data  # notebook hunks name the cell
    before = {p: p.read_bytes() for p in ci_project.rglob("*") if p.is_file() and ".git" not in p.parts and ".flm_cache" not in p.parts}
    git(ci_project, "apply", "--check", str(patch))
    git(ci_project, "apply", str(patch))
    fixed = flm("check", "--unsafe", "--no-cache", "--exclude", "app/broken.py", ".", cwd=ci_project)
    assert fixed.returncode == 0, fixed.stderr  # the applied patch is exactly what fix would do (the broken file left out)
    assert any(p.read_bytes() != b for p, b in before.items())


def test_output_file_and_json_cell_key(ci_project, tmp_path):
    out = tmp_path / "report.json"
    assert flm("scan", "--format", "json", "-o", str(out), "--no-cache", ".", cwd=ci_project).returncode == 0
    records = json.loads(out.read_text())["findings"]
    assert any(r.get("cell") and r["file"] == "tutorial.ipynb" for r in records)
    assert all("cell" not in r for r in records if r["file"].endswith(".py"))
