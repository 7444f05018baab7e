import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


#: What a correct production sets (README, "Production").
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "a-production-secret-" + "x7Qk2" * 12,
    "DJANGO_ALLOWED_HOSTS": "librairies.example",
    "CACHE_URL": "dbcache://portal_cache",
    "RESERVATIONS_LINK_BASE_URL": "https://librairies.example",
    "EMAIL_URL": "smtp+tls://portal:secret@smtp.example:587",
}


def test_check_deploy_is_clean_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_each_setting_that_broke_production():
    settings = {**PRODUCTION, "RESERVATIONS_LINK_BASE_URL": "http://localhost:8000"}
    del settings["CACHE_URL"], settings["EMAIL_URL"]
    result = run_manage("check", "--deploy", **settings)
    output = result.stdout + result.stderr
    assert result.returncode != 0  # the per-process cache is an error: limits would not hold
    assert "(portal.E001) The default cache is per process (LocMemCache)" in output
    assert "CACHE_URL=dbcache://portal_cache" in output
    assert "(portal.W002) RESERVATIONS_LINK_BASE_URL is 'http://localhost:8000'" in output
    assert "(portal.W003) EMAIL_URL is not set" in output
    # Each one alone, so none hides behind another.
    for name, check_id in (
        ("CACHE_URL", "portal.E001"),
        ("RESERVATIONS_LINK_BASE_URL", "portal.W002"),
        ("EMAIL_URL", "portal.W003"),
    ):
        alone = {k: v for k, v in PRODUCTION.items() if k != name}
        output = run_manage("check", "--deploy", **alone).stderr
        assert check_id in output and output.count("(portal.") == 1, (name, output)


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", DJANGO_DEBUG="false", DJANGO_ALLOWED_HOSTS="librairies.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
