"""Every template renders for every environment, with undefined variables as errors."""

import pytest
import yaml
from jinja2 import UndefinedError

from rollbook.systems.vision import request as vision
from rollbook.core.templates import TEMPLATES, render

from ..unit.harness import group_data, validated

ENVIRONMENTS = ("sandbox", "staging", "prod")


def test_every_template_is_covered_here():
    assert {path.name for path in TEMPLATES.glob("*.j2")} == {
        "vision_experiments.yml.j2", "incident_report.md.j2", "rollbook-drift@.service.j2", "rollbook-drift@.timer.j2",
        "rollbook-console.service.j2"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("target", vision.STATES)
def test_vision_experiments_renders_valid_yaml(environment, target):
    settings = validated(group_data(environment))
    made = vision.request_from(settings, vision.desired_state(settings, target, {})[0])
    rendered = vision.experiments_text(None, made, "host:file")
    assert yaml.safe_load(rendered) == made.experiments
    assert "&id" not in rendered


def test_an_undefined_variable_is_an_error():
    with pytest.raises(UndefinedError):
        render("vision_experiments.yml.j2")


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_incident_report_renders_for_every_environment(environment):
    from rollbook.core import history
    from rollbook.core.runs import HostRun

    run = HostRun(system="vision", kind="rollback", deploy="deploys/vision_rollback.py", environment=environment,
                  authorization={"mode": "self-service"}, scope={}, reason="", units_before={}, units_after={})
    rows = history.runs_of(history.parse(history.line(history.refused(run, "no approval")), "h"))
    from rollbook.systems import post_rollback

    text = history.incident_report(rows, "h", run.run_id, post_rollback())
    assert f"| Environment | {environment} |" in text and "Refused because: no approval" in text


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_drift_timer_units_render_for_every_environment(environment):
    from rollbook.admin.drift_timer import control_from, unit_files
    from rollbook.cli.shards import shard_file

    data = group_data(environment)
    units = unit_files(control_from(validated(data)))
    service, timer = units["rollbook-drift@.service"], units["rollbook-drift@.timer"]
    assert f"{data['rollbook_control_venv']}/bin/python -m rollbook drift {data['rollbook_drift_inventory']} " \
        "--shard %i/1" in service
    assert f"--textfile {shard_file(data['rollbook_drift_textfile'], '%i')}" in service and f"User={data['rollbook_control_user']}" in service
    assert "Type=oneshot" in service and "ROLLBOOK_OPERATOR" not in service
    assert f"OnUnitActiveSec={data['rollbook_drift_interval_minutes']}min" in timer


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_console_s_unit_and_settings_render_for_every_environment(environment):
    import tomllib

    from rollbook.admin.console_unit import CONFIG, config_text, unit_text
    from rollbook.console.config import ConsoleConfig

    data = group_data(environment)
    settings = validated(data)
    unit = unit_text(settings)
    assert f"ExecStart={data['rollbook_control_venv']}/bin/python -m rollbook serve --config {CONFIG}\n" in unit
    assert f"serve --config {CONFIG} --wait" in unit and f"User={data['rollbook_control_user']}" in unit
    config = ConsoleConfig.model_validate(tomllib.loads(config_text(settings, approval_key=True)))
    assert config.port == 8480 and set(config.environments) == set(settings.rollbook_console_environments)
    assert {name for name, env in config.environments.items() if env.self_service} == \
        set(settings.rollbook_console_self_service) & set(config.environments)
