"""`mge eval humaneval --language`: Python only, with an error that says why and what to use."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import mge.cli.eval  # noqa: F401  registers the command
from mge.cli.app import app
from mge.errors import ConfigError
from mge.eval.languages import TS_JS_INSTEAD, check_humaneval_language


@pytest.mark.parametrize("language", ["python", "Python", " python "])
def test_python_is_accepted(language: str) -> None:
    check_humaneval_language(language)


@pytest.mark.parametrize("language", ["typescript", "TypeScript", "javascript", "ts", "js"])
def test_ts_and_js_are_refused_with_the_reason_and_the_alternative(language: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_humaneval_language(language)
    message = str(caught.value)
    assert f"--language {language}" in message
    assert "Python-only" in message and "check(candidate)" in message
    assert TS_JS_INSTEAD in message


def test_an_unknown_language_is_named() -> None:
    with pytest.raises(ConfigError, match=r"--language cobol: unknown language.*'python'"):
        check_humaneval_language("cobol")


def test_the_cli_refuses_typescript_before_loading_any_model() -> None:
    result = CliRunner().invoke(app, ["eval", "humaneval", "--language", "typescript"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)  # `mge` prints it as `error: …`, exit 2
    assert "Python-only" in str(result.exception)
