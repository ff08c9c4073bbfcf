"""The pytest plugin of the drill: options, the session's target, a drill per scenario.

Fixtures and hooks only; the work is in `erdrill.session.DrillSession` and the drill
engine. pytest loads it by its entry point (pyproject.toml, `pytest11`) wherever erdrill
is installed, together with the step definitions, so `pytest features/` in a checkout and
`pytest --pyargs erdrill.features` from an installed wheel run the same drill.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from erdrill import hookspecs
from erdrill import pytest_reports as report_session
from erdrill.core.config import load_drill_config
from erdrill.core.errors import ConfigError, ErdrillError
from erdrill.core.outcomes import Outcome, Verdict, outcome_of
from erdrill.core.settings import DrillOptions
from erdrill.drill.engine import Drill
from erdrill.lab.topology import load_topology
from erdrill.session import DrillSession, install_interrupt_handlers, session_exit_code
from erdrill.targets.target import Target
from erdrill.targets.vpn_ceiling import check_probe_rate

__all__ = ["SESSION"]

# The drill's step definitions, for the packaged features and for a user's own features.
pytest_plugins = [
    "erdrill.steps.drill_steps",
    "erdrill.steps.steady_state_steps",
    "erdrill.steps.lab_shape_steps",
    "erdrill.steps.azure_steps",
]

RESULTS_DIR = Path("reports/allure-results")
SESSION = pytest.StashKey[DrillSession]()
OPTIONS = pytest.StashKey[DrillOptions]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("erdrill", "erdrill drill")
    g.addoption("--target", choices=["lab", "azure"], default=None,
                help="drill target (default: the config's, else the lab)")  # fmt: skip
    g.addoption("--lab-topology", type=Path, default=None, help="lab topology file (YAML)")
    g.addoption("--drill-config", type=Path, default=None,
                help="drill config (TOML): limits, probe targets and rate, the Azure resources")  # fmt: skip
    g.addoption("--keep-lab", action="store_true", help="leave the lab up after the run")
    g.addoption("--allow-disruption", action="store_true",
                help="allow disruptive scenarios against Azure (never needed for the lab)")  # fmt: skip
    g.addoption("--plan", action="store_true",
                help="Azure: make the reads, print every write, write nothing")  # fmt: skip
    g.addoption("--drills-dir", type=Path, default=Path("reports/drills"),
                help="where drill records are written")  # fmt: skip


def _is_drill_run(config: pytest.Config) -> bool:
    return any("features" in str(a) for a in config.args)


def _live(config: pytest.Config) -> contextlib.AbstractContextManager[Any]:
    """Write past pytest's output capture (the drill's live lines are for the operator)."""
    capman = config.pluginmanager.getplugin("capturemanager")
    return capman.global_and_fixture_disabled() if capman else contextlib.nullcontext()


def _say(config: pytest.Config, line: str) -> None:
    with _live(config):
        print(f"\n{line}", flush=True)


def resolve_options(config: pytest.Config) -> DrillOptions:
    """The drill options from the command line and the drill config; bad input: ConfigError."""
    cfg = load_drill_config(config.getoption("drill_config"))
    options = DrillOptions.from_config(
        cfg, config.getoption("target"), config.getoption("allow_disruption"),
        config.getoption("plan"),
    )  # fmt: skip
    if options.plan and options.target != "azure":
        raise ConfigError("--plan", "target", "--plan prints Azure writes; the lab has none",
                          "use --plan with --target azure (or a config whose target is azure)")  # fmt: skip
    if options.target == "azure" and cfg.azure is None:
        raise ConfigError("--target", "azure", "the drill config has no [azure] section",
                          "give --drill-config with an [azure] section (see examples/azure.toml)")  # fmt: skip
    if options.target == "lab" or config.getoption("lab_topology") is not None:
        topology = load_topology(config.getoption("lab_topology"))
        if options.target == "lab":  # before the lab is built: its VPN path must carry it
            source = str(config.getoption("drill_config") or "the default drill config")
            check_probe_rate(topology, options.settings.rate, source)
    return options


# The feature files' tags (pytest-bdd turns them into markers), declared here so the
# packaged features run under --strict-markers without the checkout's pyproject.toml.
SCENARIO_MARKERS = {
    "lab": "runs against the emulated lab (root, namespaces, real daemons)",
    "azure": "runs against Azure (or the lab's Azure face)",
    "disruptive": "injects a fault into the network",
    "redundant": "runs on the redundant lab (two links, active-active VPN, spokes)",
    "two_locations": "runs on the two-locations lab (two circuits in two peering locations)",
    "steady_state": "checks the network without injecting a fault",
    "failover": "the documented four-step failover test plan",
    "misconfigured": "builds a deliberately misconfigured lab",
    "slow": "takes more than a few seconds",
    "leaves_expressroute": "Azure: needs a fault method that stops ExpressRoute",
    "circuit_link_failover": "Azure: Microsoft's circuit link failover test",
    "site_failover_simulation": "Azure: the site failover simulation (two peering locations)",
}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in SCENARIO_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    if not _is_drill_run(config):
        return
    # Bad input is one line and exit 4, before any scenario is collected or run.
    try:
        config.stash[OPTIONS] = resolve_options(config)
    except ConfigError as exc:
        raise pytest.UsageError(f"erdrill: {exc}") from None
    # Show Gherkin steps as they run; write Allure results unless told otherwise.
    config.option.verbose = max(config.option.verbose, 1)
    if hasattr(config.option, "gherkin_terminal_reporter"):
        config.option.gherkin_terminal_reporter = True
    if "s" not in config.option.reportchars:  # a refused scenario says why in the summary
        config.option.reportchars += "s"
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(RESULTS_DIR)
        config.option.clean_alluredir = True  # one run per report; trends from the history
    config.stash[SESSION] = DrillSession(
        config.stash[OPTIONS],
        drill_config=config.getoption("drill_config"),
        topology=config.getoption("lab_topology"),
        keep=config.getoption("keep_lab"),
        drills_dir=config.getoption("drills_dir"),
        say=lambda line: _say(config, line),
    )
    # SIGINT, SIGTERM and SIGHUP end the drill alike: every fault is undone on the way out.
    install_interrupt_handlers(config.stash[SESSION].interrupted_by)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the scenarios tagged for this target; refuse disruptive ones without consent.

    A scenario tagged @lab or @azure runs only against that target. Against Azure (the lab
    face included) a @disruptive scenario is skipped, before anything is sent, unless
    --allow-disruption is given and the fault method needs it.
    """
    if SESSION not in config.stash:
        return
    options = config.stash[OPTIONS]
    keep = [i for i in items if not _targets_of(i) or options.target in _targets_of(i)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    refusal = _refusal(config, options)
    unfit = _unfit(config, options)
    for item in items:
        reason = unfit({m.name for m in item.iter_markers()})
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"erdrill: does not fit: {reason}"))
        elif refusal and item.get_closest_marker("disruptive"):
            item.add_marker(pytest.mark.skip(reason=refusal))


def _unfit(config: pytest.Config, options: DrillOptions) -> Callable[[set[str]], str | None]:
    """Against Azure: why a scenario does not fit the configured circuit (targets.azure.fit)."""
    if options.target != "azure":
        return lambda tags: None
    from erdrill.targets.azure.fit import unfit_reason

    azure = load_drill_config(config.getoption("drill_config")).azure
    assert azure is not None  # resolve_options refused an Azure target without [azure]
    return lambda tags: unfit_reason(azure, tags)


def _refusal(config: pytest.Config, options: DrillOptions) -> str | None:
    if options.target != "azure" or options.allow_disruption or options.plan:
        return None
    from erdrill.targets.azure import DISRUPTIVE

    azure = load_drill_config(config.getoption("drill_config")).azure
    if azure is None or azure.fault_method not in DISRUPTIVE:
        return None
    return (
        f"erdrill: refused: {azure.fault_method} disrupts circuit {azure.circuit}; "
        "nothing was sent (pass --allow-disruption to run it)"
    )


def _targets_of(item: pytest.Item) -> set[str]:
    return {m.name for m in item.iter_markers()} & {"lab", "azure"}


@pytest.fixture(scope="session")
def options(pytestconfig: pytest.Config) -> DrillOptions:
    return pytestconfig.stash[OPTIONS]


@pytest.fixture(scope="session")
def drill_session(pytestconfig: pytest.Config) -> Iterator[DrillSession]:
    """The session's target, built once, torn down at the end (unless --keep-lab)."""
    session = pytestconfig.stash[SESSION]
    try:
        session.open()
    except ErdrillError as exc:
        pytest.exit(f"erdrill: {exc}", returncode=session_exit_code(exc))
    report_session.start(pytestconfig, session.target)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def target(drill_session: DrillSession) -> Target:
    return drill_session.target


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
def drill(
    request: pytest.FixtureRequest, drill_session: DrillSession, target: Target
) -> Iterator[Drill]:
    """One drill per scenario; closed by `pytest_bdd_after_scenario` with its verdict."""
    gherkin = report_session.gherkin_scenario(request.node)
    name = gherkin.title if gherkin else request.node.name
    if target is drill_session.target:
        d = drill_session.new_drill(name)
    else:  # a scenario's own target (a separate lab): its own lock
        d = Drill(target, drill_session.options.settings, scenario=name,
                  drills_dir=drill_session.drills_dir)  # fmt: skip
    if gherkin is not None:  # named as in the feature file and the Allure report
        d.record.feature, d.record.example, d.record.tags = (
            gherkin.feature, gherkin.example, gherkin.tags,
        )  # fmt: skip
    d.progress = _progress_line(request.config)
    request.config.hook.pytest_erdrill_drill_created(drill=d)
    request.node.erdrill_drill = d
    yield d
    if not d.closed:  # the scenario never reached after_scenario (e.g. interrupted in setup)
        _close(request.node, d, drill_session.interrupted(d))


def _close(node: pytest.Item, d: Drill, outcome: Outcome) -> None:
    node.config.stash[SESSION].close_drill(
        d, outcome, report=lambda: report_session.scenario_finished(node.config, node, d)
    )


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    request.node.erdrill_steps = {"done": 0, "total": len(scenario.steps), "error": None}


def pytest_bdd_before_step(request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
    """Show each Gherkin step as it starts, so a long wait is never a silent one."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and SESSION in request.config.stash:
        with _live(request.config):
            reporter.write_line(f"      {step.keyword} {step.name}")


def pytest_bdd_after_step(request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
    request.node.erdrill_steps["done"] += 1
    d: Drill | None = getattr(request.node, "erdrill_drill", None)
    if d is not None and not d.closed and step.type == "then":  # what the drill checked
        d.record.checks = [*d.record.checks, step.name]


def pytest_bdd_step_error(
    request: pytest.FixtureRequest, exception: BaseException, **_: Any
) -> None:
    request.node.erdrill_steps["error"] = exception


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    d: Drill | None = getattr(request.node, "erdrill_drill", None)
    if d is None or d.closed:
        return
    steps = request.node.erdrill_steps
    error = steps["error"]
    if d.planned:
        _close(request.node, d, Outcome(Verdict.PLANNED, None, d.record.message))
    elif error is None and steps["done"] < steps["total"]:  # cut short without an error: a signal
        _close(request.node, d, request.config.stash[SESSION].interrupted(d))
    else:
        _close(request.node, d, outcome_of(error))


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Any:
    """End a drill run with erdrill's exit code (core/outcomes.py, docs/scheduling.md).

    Runs after every fixture teardown, so drills closed on the way out are counted.
    """
    result = yield
    if SESSION in session.config.stash:
        drills = session.config.stash[SESSION]
        session.exitstatus = drills.exit_code(int(session.exitstatus))
    return result


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    report_session.terminal_summary(terminalreporter, config)
