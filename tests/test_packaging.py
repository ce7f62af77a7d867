"""A plain `pip install .` must carry the YAML data: build the wheel, install it elsewhere, load it.
The build uses the hatchling of the `[test]` extra (no build isolation: no index needed)."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from migrate.catalog import bundled_catalog

DEFAULT_TARGET = bundled_catalog().default_target  # what `fix` moves Pro calls to without --target

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_rules_and_installed_package_finds_them(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True)  # fmt: skip
    wheel = next(wheels.glob("flashlite_migrate-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in ("models.yaml", "pricing.yaml", "rules.yaml", "call_sites.yaml"):
        assert f"migrate/rules/{data}" in names
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)], check=True, capture_output=True)
    probe = (
        "import migrate, migrate.catalog as c; cat = c.bundled_catalog();"
        "print(migrate.__file__); print(c.rules_dir()); print(cat.default_target)"
    )
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {probe}"],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()  # fmt: skip
    assert out[0].startswith(str(site)) and out[1] == str(site / "migrate" / "rules")
    assert out[2] == DEFAULT_TARGET
