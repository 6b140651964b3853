"""Codex CLI (`codex exec`, non-interactive) through the gateway's Responses API, against
each upstream family of the fake (openai passthrough, anthropic and gemini translated).

The CLI comes from `scripts/install-tools.sh --test` (npm, pinned, into `.tools/codex`);
without it the test fails and says so. Codex declares its tools (`exec_command` first),
so the fake calls that tool, Codex runs it and sends the output back together with the
reasoning item of the first turn; `#fake:signatures` makes the fake's last answer say
how many of its own thinking signatures came back. `scripts/codex-smoke.sh` does the same
outside pytest.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support import UPSTREAMS, via_model

CODEX = Path(__file__).resolve().parents[2] / ".tools" / "codex" / "node_modules" / ".bin" / "codex"
CODEX_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def codex_home(tmp_path_factory: pytest.TempPathFactory, gateway_url: str) -> Path:
    if not os.access(CODEX, os.X_OK):
        pytest.fail(f"the Codex CLI is not installed at {CODEX}: run scripts/install-tools.sh --test", pytrace=False)
    home = tmp_path_factory.mktemp("codex-home")
    # Web search is a built-in (OpenAI-side) tool that translated upstreams cannot run.
    (home / "config.toml").write_text(
        'model_provider = "switchyard"\n'
        'web_search = "disabled"\n'
        "\n"
        "[model_providers.switchyard]\n"
        'name = "Switchyard"\n'
        f'base_url = "{gateway_url}/v1"\n'
        'env_key = "SWITCHYARD_API_KEY"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
    )
    return home


@pytest.mark.parametrize("upstream", UPSTREAMS, ids=[f"to-{u}" for u in UPSTREAMS])
def test_codex_exec_completes_with_a_tool_call_and_reasoning(
    codex_home: Path, client_key: str, tmp_path: Path, upstream: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_"))}
    env.update(CODEX_HOME=str(codex_home), SWITCHYARD_API_KEY=client_key)
    result = subprocess.run(
        [
            str(CODEX), "exec", "--skip-git-repo-check", "-m", via_model(upstream),
            "-c", 'model_reasoning_effort="medium"', "-c", 'model_reasoning_summary="auto"',
            "Say hello. #fake:signatures",
        ],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CODEX_TIMEOUT_S,
    )
    transcript = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"
    assert result.returncode == 0, transcript
    # Codex ran the tool the fake asked for (`exec_command`) ...
    assert "exec" in result.stderr, transcript
    # ... and the second turn carried the upstream's signed reasoning back.
    assert "Signatures back: 1 valid, 0 invalid." in result.stdout, transcript
    # The reasoning summary was shown.
    assert "Thinking it through" in result.stderr, transcript
