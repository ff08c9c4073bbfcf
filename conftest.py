"""pytest wiring for the drill: options, the target for the session, the drill per scenario.

`pytest features/` with no options builds the lab once (fast profile), runs every lab
scenario and tears the lab down. Steps live in steps/; the library does the work.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from erdrill import journal
from erdrill.config import load_drill_config
from erdrill.drill import Drill, LimitExceeded, target_key
from erdrill.errors import ConfigError, ErdrillError
from erdrill.exitcodes import ExitCode, run_exit_code
from erdrill.settings import DrillOptions
from reports import session as report_session
from targets.factory import make_target, repair_open_faults

pytest_plugins = ["steps.drill_steps", "steps.steady_state_steps"]

RESULTS_DIR = Path("reports/allure-results")
SESSION_KEY = pytest.StashKey[str]()  # the target whose drill lock this session holds
LOCK_KEY = pytest.StashKey[journal.DrillLock]()
OUTCOMES_KEY = pytest.StashKey[list[tuple[str, str | None]]]()  # (verdict, category) per drill


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("erdrill", "erdrill drill")
    g.addoption(
        "--target",
        choices=["lab", "azure"],
        default=None,
        help="drill target (default: the config's, else the lab)",
    )
    g.addoption("--lab-topology", type=Path, default=None, help="lab topology file (YAML)")
    g.addoption(
        "--drill-config",
        type=Path,
        default=None,
        help="drill config (TOML): limits, probe targets and rate, the Azure resources",
    )
    g.addoption("--keep-lab", action="store_true", help="leave the lab up after the run")
    g.addoption(
        "--allow-disruption",
        action="store_true",
        help="allow disruptive scenarios against Azure (never needed for the lab)",
    )
    g.addoption(
        "--drills-dir",
        type=Path,
        default=Path("reports/drills"),
        help="where drill records are written",
    )


def _is_drill_run(config: pytest.Config) -> bool:
    return any("features" in str(a) for a in config.args)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the scenarios tagged for this target; refuse disruptive ones without consent.

    A scenario tagged @lab or @azure runs only against that target. Against Azure (the lab
    face included) a @disruptive scenario is skipped, before anything is sent, unless
    --allow-disruption is given and the fault method needs it.
    """
    if not _is_drill_run(config):
        return
    try:
        cfg = load_drill_config(config.getoption("drill_config"))
    except ErdrillError:
        return  # the options fixture reports it
    kind = config.getoption("target") or cfg.target.kind
    keep = [i for i in items if not _targets_of(i) or kind in _targets_of(i)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    if kind != "azure" or cfg.azure is None or config.getoption("allow_disruption"):
        return
    from targets.azure import DISRUPTIVE

    refusal = (
        f"erdrill: refused: {cfg.azure.fault_method} disrupts circuit {cfg.azure.circuit}; "
        "nothing was sent (pass --allow-disruption to run it)"
    )
    if cfg.azure.fault_method in DISRUPTIVE:
        for item in items:
            if item.get_closest_marker("disruptive"):
                item.add_marker(pytest.mark.skip(reason=refusal))


def _targets_of(item: pytest.Item) -> set[str]:
    return {m.name for m in item.iter_markers()} & {"lab", "azure"}


MAIN_PID = os.getpid()
_INTERRUPTED_BY: list[str] = []  # the signals that interrupted this session


def _raise_interrupt(signum: int, _frame: Any) -> None:
    if os.getpid() != MAIN_PID:
        # A forked helper (pyroute2, the prober) must die quietly, never unwind the
        # drill's stack and run its teardown a second time.
        os._exit(128 + signum)
    _INTERRUPTED_BY.append(signal.Signals(signum).name)
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _is_drill_run(config):
        return
    # Show Gherkin steps as they run; write Allure results unless told otherwise.
    config.option.verbose = max(config.option.verbose, 1)
    if hasattr(config.option, "gherkin_terminal_reporter"):
        config.option.gherkin_terminal_reporter = True
    if "s" not in config.option.reportchars:  # a refused scenario says why in the summary
        config.option.reportchars += "s"
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(RESULTS_DIR)
        # one run's results per report; trends come from the Allure history file
        config.option.clean_alluredir = True
    # SIGINT, SIGTERM and SIGHUP end the drill alike: every fault is undone on the way out.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)


@pytest.fixture(scope="session")
def options(pytestconfig: pytest.Config) -> DrillOptions:
    try:
        cfg = load_drill_config(pytestconfig.getoption("drill_config"))
    except ErdrillError as exc:
        raise pytest.UsageError(str(exc)) from None
    return DrillOptions.from_config(
        cfg, pytestconfig.getoption("target"), pytestconfig.getoption("allow_disruption")
    )


def _say(config: pytest.Config, line: str) -> None:
    """Tell the operator now, past pytest's output capture."""
    capman = config.pluginmanager.getplugin("capturemanager")
    with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
        print(f"\n{line}", flush=True)


def _session_exit_code(exc: ErdrillError) -> int:
    """A bad config or topology is a usage error; a lab that fails to come up, a harness error."""
    if isinstance(exc, ConfigError):
        return int(pytest.ExitCode.USAGE_ERROR)
    if exc.exit_code == ErdrillError.exit_code:
        return int(ExitCode.HARNESS_ERROR)
    return exc.exit_code  # locked, open fault, not restored: erdrill/exitcodes.py


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config, options: DrillOptions) -> Iterator[Any]:
    """The drill target for the whole session (the lab is built once and torn down)."""
    lock: journal.DrillLock | None = None
    made: Any = None
    try:
        repaired = repair_open_faults(options)
        for line in repaired:
            _say(pytestconfig, f"erdrill: undid a fault an earlier drill left in place: {line}")
        made = make_target(
            options, pytestconfig.getoption("drill_config"), pytestconfig.getoption("lab_topology")
        )
        # One drill session per target: a second is refused naming the first.
        lock = journal.acquire(target_key(made), f"session-{os.getpid()}")
        if lock.took_over:
            _say(
                pytestconfig,
                f"erdrill: took over a stale drill lock of run {lock.took_over.get('run_id')} "
                f"(pid {lock.took_over.get('pid')} on {lock.took_over.get('host')} is gone)",
            )
        pytestconfig.stash[SESSION_KEY] = target_key(made)
        pytestconfig.stash[LOCK_KEY] = lock
        made.ensure_ready()
    except BaseException as exc:
        if lock is not None:  # ours: a half-built lab is not left behind, unless kept
            if not pytestconfig.getoption("keep_lab"):
                with contextlib.suppress(Exception):
                    made.teardown()
            lock.release()
        if isinstance(exc, ErdrillError):
            pytest.exit(f"erdrill: {exc}", returncode=_session_exit_code(exc))
        raise
    report_session.start(pytestconfig, made)
    try:
        yield made
    finally:
        if not pytestconfig.getoption("keep_lab"):
            with contextlib.suppress(Exception):
                made.teardown()
        if lock is not None:
            lock.release()


def _live(config: pytest.Config) -> contextlib.AbstractContextManager[None]:
    """Write past pytest's output capture (the drill's live lines are for the operator)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    return capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()


def _progress_line(config: pytest.Config) -> Callable[[str], None] | None:
    """An updating status line on the terminal, or None when the output is not a terminal."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or not getattr(reporter, "isatty", False):
        return None

    def show(line: str) -> None:
        with _live(config):
            reporter.write("\r\x1b[2K" + (f"      .. {line}" if line else ""), flush=True)

    return show


@pytest.fixture
def drill(request: pytest.FixtureRequest, target: Any, options: DrillOptions) -> Iterator[Drill]:
    """One drill per scenario; closed by `pytest_bdd_after_scenario` with its verdict."""
    d = Drill(
        target,
        options.settings,
        scenario=request.node.name,
        drills_dir=request.config.getoption("drills_dir"),
        lock_held=target_key(target) == request.config.stash.get(SESSION_KEY, None),
    )
    request.node.erdrill_drill = d
    d.progress = _progress_line(request.config)
    lock = request.config.stash.get(LOCK_KEY, None)
    if lock is not None and d.key == request.config.stash.get(SESSION_KEY, None):
        lock.retag(d.run_id, d.record.started_at)  # a refused drill is told who runs
    yield d
    if not d._closed:  # the scenario never reached after_scenario (e.g. interrupted in setup)
        _close(request.node, d, "aborted", d.interrupted_message(_interruption()), "interrupted")


def _interruption() -> KeyboardInterrupt | None:
    return KeyboardInterrupt(f"signal {_INTERRUPTED_BY[-1]}") if _INTERRUPTED_BY else None


def _close(
    node: pytest.Item, d: Drill, verdict: str, message: str, category: str | None = None
) -> None:
    try:
        d.close(
            verdict,
            message,
            category,
            report=lambda: report_session.scenario_finished(node.config, node, d),
        )
    finally:
        node.config.stash.setdefault(OUTCOMES_KEY, []).append(
            (d.record.verdict, d.record.failure_category)
        )


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    request.node.erdrill_steps = {"done": 0, "total": len(scenario.steps), "error": None}


def pytest_bdd_before_step(request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
    """Show each Gherkin step as it starts, so a long wait is never a silent one."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and _is_drill_run(request.config):
        with _live(request.config):
            reporter.write_line(f"      {step.keyword} {step.name}")


def pytest_bdd_after_step(request: pytest.FixtureRequest, **_: Any) -> None:
    request.node.erdrill_steps["done"] += 1


def pytest_bdd_step_error(
    request: pytest.FixtureRequest, exception: BaseException, **_: Any
) -> None:
    request.node.erdrill_steps["error"] = exception


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    d: Drill | None = getattr(request.node, "erdrill_drill", None)
    if d is None or d._closed:
        return
    steps = request.node.erdrill_steps
    error = steps["error"]
    if error is None and steps["done"] == steps["total"]:
        _close(request.node, d, "passed", "")
    elif isinstance(error, LimitExceeded):
        _close(request.node, d, "failed", str(error), "limit-exceeded")
    elif isinstance(error, AssertionError):  # NoFailover, SteadyStateViolation, a failed check
        _close(request.node, d, "failed", str(error), "no-failover")
    elif error is not None:
        _close(request.node, d, "aborted", f"{type(error).__name__}: {error}", "harness-error")
    else:  # a step was cut short without an error: a signal (KeyboardInterrupt)
        _close(request.node, d, "aborted", d.interrupted_message(_interruption()), "interrupted")


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Any:
    """End a drill run with erdrill's exit code (erdrill/exitcodes.py, docs/scheduling.md).

    Runs after every fixture teardown, so drills closed on the way out are counted.
    """
    result = yield
    if _is_drill_run(session.config):
        outcomes = session.config.stash.get(OUTCOMES_KEY, [])
        session.exitstatus = run_exit_code(outcomes, int(session.exitstatus))
    return result


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report_session.terminal_summary(terminalreporter, config)
