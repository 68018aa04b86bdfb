"""console.jobs: each registered system's jobs, their fields from the settings model, their data checked as
the CLI checks --data."""

import pytest

from rollbook.console.jobs import checked, job_of, jobs
from rollbook.core.preflight import PreflightError
from rollbook.systems import SYSTEMS


def test_every_registered_system_has_a_rollback_and_an_enable_job_with_a_deploy_file():
    from tests.example_system import REPO

    found = {(job.system, job.action) for job in jobs()}
    assert found == {(system, action) for system in SYSTEMS for action in ("rollback", "enable")}
    assert all((REPO / job.deploy).is_file() for job in jobs())


def test_fields_carry_the_model_s_choices_defaults_and_docs():
    fields = {field.name: field for field in job_of("analyticbot", "rollback").fields}
    assert fields["analyticbot_features"].choices == ("all", "time_weighting", "content_type")
    assert fields["analyticbot_features"].default == "all" and fields["analyticbot_features"].kind == "choice"
    assert fields["analyticbot_days"].kind == "number" and fields["analyticbot_days"].default == "90"
    assert fields["reason"].kind == "text"
    vision = {field.name: field for field in job_of("vision", "rollback").fields}
    assert vision["vision_waves"].default == "a,b,c,tokens" and vision["vision_waves"].doc
    assert vision["vision_compression_poc"].kind == "flag"


def test_no_form_offers_a_security_setting_a_secret_or_a_table():
    offered = {field.name for job in jobs() for field in job.fields}
    from rollbook.core import schema

    assert not offered & (schema.security_keys() | schema.secret_keys())
    assert "vision_enabled_values" not in offered and "rollbook_environment" not in offered
    assert "vision_s3_access_key_secret" not in offered  # which secret to use is the environment's choice


@pytest.mark.parametrize("data, says", [
    ({"vision_waves": "zz"}, "vision_waves: Value error, unknown 'zz'"),
    ({"vision_compression_poc": "maybe"}, "vision_compression_poc: Input should be a valid boolean"),
    ({"rollbook_environment": "sandbox"}, "--data may not set the security setting rollbook_environment"),
    ({"vision_wave": "b"}, "unknown data key vision_wave (did you mean vision_waves?)"),
    ({"phase17_method": "flag"}, "phase17_method: not a setting of the vision rollback job"),
])
def test_bad_data_is_refused_as_the_cli_refuses_it(data, says):
    with pytest.raises(PreflightError) as refused:
        checked(job_of("vision", "rollback"), data)
    assert says in str(refused.value)


def test_good_data_comes_back_as_given_and_empty_fields_take_their_default():
    assert checked(job_of("vision", "rollback"), {"vision_waves": "b", "reason": "", "vision_scan_batch": "100"}) \
        == {"vision_waves": "b", "vision_scan_batch": "100"}
