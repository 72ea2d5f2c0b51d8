"""Job names follow the convention users of o11y-bench know; bad variants are refused."""

from __future__ import annotations

import pytest

from opsbench.cli import main
from opsbench.models.job import Variant


@pytest.mark.parametrize(
    ("model", "effort", "agent", "expected"),
    [
        ("openai/gpt-5.4-nano", "off", "sre", "openai-gpt-5-4-nano-off-k3"),
        ("openai/gpt-5.4-nano", "high", "sre", "openai-gpt-5-4-nano-high-k3"),
        ("openai/gpt-5.4-nano", "off", "opencode", "openai-gpt-5-4-nano-off-opencode-k3"),
        (
            "openai/gpt-5.4-nano",
            "off",
            "agents.langchain_o11y_agent:LangChainO11yBenchAgent",
            "openai-gpt-5-4-nano-off-agents-langchain-o11y-agent-langchaino11ybenchagent-k3",
        ),
        ("openrouter/qwen/qwen3-coder", "low", "sre", "openrouter-qwen-qwen3-coder-low-k3"),
    ],
)
def test_job_names(model: str, effort: str, agent: str, expected: str) -> None:
    assert Variant(model=model, reasoning_effort=effort, agent=agent).job_name() == expected


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "gpt-4o"], "provider/model"),
        (["--agent", "oracle", "--agent-import-path", "x:Y"], "not allowed with"),
        (["--agent", "orcale"], "did you mean 'oracle'"),
        ([], "needs a model"),
    ],
)
def test_bad_variants_are_refused_with_a_reason(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["job", "--dry-run", *argv])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    assert code != 0
    assert message in capsys.readouterr().err
