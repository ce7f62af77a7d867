"""Dependency files: google-generativeai (FLM302) and google-cloud-aiplatform used only for generative
features (FLM303) are reported everywhere a Python project lists requirements; with --unsafe they
become a google-genai requirement that fits the rest (capped <3 while aiplatform stays)."""

import textwrap
from pathlib import Path

import pytest

from migrate.codemod.dependencies import imported_modules, load_data, migrate_dependency_file, parse
from migrate.settings import Settings
from tests.codemod.fixture_pairs import AS_OF

UNSAFE = Settings(as_of=AS_OF, unsafe=True)
SAFE = Settings(as_of=AS_OF)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


def fix(path: Path, settings: Settings = UNSAFE):
    result = migrate_dependency_file(path.read_bytes(), settings, path)
    return (result.new_bytes.decode() if result.changed else path.read_text()), result


def test_requirements_txt_keeps_markers_and_comments(tmp_path):
    root = project(tmp_path, {"requirements.txt": """\
        # pinned
        Google_GenerativeAI==0.8.3 ; python_version >= "3.9"  # the old SDK
        requests>=2
        """})  # fmt: skip
    output, result = fix(root / "requirements.txt")
    assert output == '# pinned\ngoogle-genai>=2.0 ; python_version >= "3.9"  # the old SDK\nrequests>=2\n'
    (finding,) = result.findings
    assert (finding.rule, finding.tier, finding.line, finding.column, finding.applied) == ("FLM302", "unsafe", 2, 1, True)
    assert finding.after == "google-genai>=2.0"


def test_not_applied_without_unsafe_but_reported(tmp_path):
    root = project(tmp_path, {"requirements.txt": "google-generativeai\n"})
    output, result = fix(root / "requirements.txt", SAFE)
    assert output == "google-generativeai\n"
    (finding,) = result.findings
    assert finding.is_edit and not finding.applied and "replace with google-genai>=2.0" in finding.message


def test_tier_promotion_applies_without_unsafe(tmp_path):
    root = project(tmp_path, {"requirements.txt": "google-generativeai\n"})
    output, _ = fix(root / "requirements.txt", Settings(as_of=AS_OF, tier_overrides={"FLM302": "safe"}))
    assert output == "google-genai>=2.0\n"


def test_google_genai_already_required_removes_the_legacy_line(tmp_path):
    root = project(tmp_path, {"requirements.txt": "google-genai>=2.3\ngoogle-generativeai>=0.8\nhttpx\n"})
    output, result = fix(root / "requirements.txt")
    assert output == "google-genai>=2.3\nhttpx\n"
    assert result.findings[0].after == "" and "already required" in result.findings[0].message


def test_hash_pinned_and_url_requirements_are_reported_not_rewritten(tmp_path):
    root = project(tmp_path, {"requirements.txt": """\
        google-generativeai==0.8.3 \\
            --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
        """})  # fmt: skip
    output, result = fix(root / "requirements.txt")
    assert not result.changed and "hash-pinned" in result.findings[0].message and not result.findings[0].is_edit
    root = project(tmp_path / "u", {"requirements.txt": "google-generativeai @ https://example.invalid/g.whl\n"})
    assert "URL requirement" in fix(root / "requirements.txt")[1].findings[0].message


def test_aiplatform_generative_only_is_replaced(tmp_path):
    root = project(tmp_path, {
        "requirements.txt": "google-cloud-aiplatform>=1.60\nrequests\n",
        "app/report.py": "import vertexai\nfrom vertexai.generative_models import GenerativeModel\n",
        "notebooks/demo.ipynb": '{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": ["from vertexai.preview import generative_models"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}',
    })  # fmt: skip
    output, result = fix(root / "requirements.txt")
    assert output == "google-genai>=2.0\nrequests\n"
    (finding,) = result.findings
    assert finding.rule == "FLM303"
    assert "vertexai, vertexai.generative_models, vertexai.preview.generative_models" in finding.message


@pytest.mark.parametrize("other", [
    "from google.cloud import aiplatform\naiplatform.Endpoint('e')\n",
    "from vertexai.preview import rag\n",
    "import vertexai.agent_engines\n",
])  # fmt: skip
def test_aiplatform_used_for_more_is_left_alone_and_caps_google_genai(tmp_path, other):
    root = project(tmp_path, {
        "requirements.txt": "google-cloud-aiplatform>=1.60\ngoogle-generativeai==0.8.3\n",
        "app/report.py": "from vertexai.generative_models import GenerativeModel\n",
        "app/ml.py": other,
    })  # fmt: skip
    output, result = fix(root / "requirements.txt")
    assert output == "google-cloud-aiplatform>=1.60\ngoogle-genai>=2.0,<3\n"  # aiplatform pins google-genai<3
    assert [f.rule for f in result.findings] == ["FLM302"]


def test_aiplatform_with_extras_is_left_alone(tmp_path):
    root = project(tmp_path, {"requirements.txt": "google-cloud-aiplatform[agent_engines]>=1.60\n", "a.py": "import vertexai\n"})
    assert fix(root / "requirements.txt")[1].findings == []


def test_both_legacy_packages_become_one_google_genai(tmp_path):
    root = project(tmp_path, {"requirements.txt": "google-generativeai\ngoogle-cloud-aiplatform\nrich\n", "a.py": "import vertexai\n"})
    output, result = fix(root / "requirements.txt")
    assert output == "google-genai>=2.0\nrich\n"
    assert [f.rule for f in result.findings] == ["FLM302", "FLM303"]


def test_pyproject_pep621_optional_groups_and_poetry(tmp_path):
    root = project(tmp_path, {"pyproject.toml": """\
        [project]
        name = "demo"
        dependencies = [
            "google-generativeai>=0.8",  # chat
            "httpx",
        ]

        [project.optional-dependencies]
        gemini = ["google-generativeai", "rich"]

        [dependency-groups]
        dev = [
          "google-generativeai==0.8.6",
        ]

        [tool.poetry.dependencies]
        python = "^3.10"
        google-generativeai = "^0.8.3"

        [tool.poetry.group.nb.dependencies]
        google-generativeai = { version = "^0.8", optional = true }

        [tool.other]
        list = ["google-generativeai"]
        """})  # fmt: skip
    output, result = fix(root / "pyproject.toml")
    assert output == textwrap.dedent("""\
        [project]
        name = "demo"
        dependencies = [
            "google-genai>=2.0",  # chat
            "httpx",
        ]

        [project.optional-dependencies]
        gemini = ["google-genai>=2.0", "rich"]

        [dependency-groups]
        dev = [
          "google-genai>=2.0",
        ]

        [tool.poetry.dependencies]
        python = "^3.10"
        google-genai = ">=2.0"

        [tool.poetry.group.nb.dependencies]
        google-genai = { version = ">=2.0", optional = true }

        [tool.other]
        list = ["google-generativeai"]
        """)  # fmt: skip
    assert len(result.findings) == 5 and all(f.applied for f in result.findings)


def test_setup_cfg_and_setup_py(tmp_path):
    root = project(tmp_path, {
        "setup.cfg": """\
            [metadata]
            name = demo
            [options]
            install_requires =
                google-generativeai>=0.8
                requests
            [options.extras_require]
            ai = google-generativeai
            """,
        "setup.py": """\
            from setuptools import setup
            setup(
                name="demo",
                install_requires=[
                    "google-generativeai>=0.8",
                    'requests',
                ],
                extras_require={"ai": ["google-genai", "google-generativeai"]},
            )
            """,
    })  # fmt: skip
    cfg, _ = fix(root / "setup.cfg")
    assert "    google-genai>=2.0\n    requests\n" in cfg and "ai = google-genai>=2.0\n" in cfg
    py, result = fix(root / "setup.py")
    assert '        "google-genai>=2.0",\n' in py
    assert 'extras_require={"ai": ["google-genai", "google-generativeai"]}' in py  # not alone on its line
    assert "remove it by hand" in result.findings[1].message and not result.findings[1].applied


def test_parsers_find_exact_spans():
    text = 'x = 1\ndependencies = ["a", "google_generativeai[x]>=0.8; python_version<\'3.13\'"]\n'
    requirement = next(r for r in parse(Path("pyproject.toml"), "[project]\n" + text) if r.name == "google-generativeai")
    source = "[project]\n" + text
    assert source[requirement.start : requirement.end] == "google_generativeai[x]>=0.8"


def test_imported_modules():
    source = "from vertexai import generative_models, rag\nimport vertexai.preview.generative_models as gm, os\nfrom google.cloud import aiplatform\n"
    assert imported_modules(source) >= {"vertexai.generative_models", "vertexai.rag", "vertexai.preview.generative_models", "google.cloud.aiplatform"}


def test_data_file_is_loaded_and_validated():
    data = load_data()
    assert data.package == "google-genai" and data.with_aiplatform.endswith("<3")
    assert {"google-generativeai", "google-cloud-aiplatform"} == set(data.legacy)


def test_files_without_the_packages_are_not_candidates(tmp_path):
    root = project(tmp_path, {"requirements.txt": "google-genai\nrequests\n"})
    assert migrate_dependency_file((root / "requirements.txt").read_bytes(), UNSAFE, root / "requirements.txt").status == "not-candidate"


def test_a_setup_py_that_is_not_a_packaging_script_is_python_and_gets_the_port(tmp_path):
    """generative-ai's sample app has a `pages_utils/setup.py` page module: it was read as packaging and left legacy."""
    from migrate.codemod.kinds import DEPENDENCIES, PYTHON, kind_of, migrate_file

    page = b'import vertexai\nfrom vertexai.generative_models import GenerativeModel\nvertexai.init(project="p", location="us-east4")\nmodel = GenerativeModel("gemini-1.5-pro")\nprint(model.generate_content("hi").text)\n'
    packaging = b'from setuptools import setup\nsetup(name="demo", install_requires=["google-generativeai"])\n'
    assert kind_of(Path("app/setup.py"), page) == PYTHON and kind_of(Path("setup.py"), packaging) == DEPENDENCIES
    result = migrate_file(tmp_path / "setup.py", page, SAFE)
    assert result.changed and b"from google import genai" in result.new_bytes and b"import vertexai" not in result.new_bytes
