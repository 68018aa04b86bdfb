"""Every template renders for every environment, with undefined variables as errors."""

import pytest
import yaml
from jinja2 import UndefinedError

from rollbook.systems import vision
from rollbook.templates import TEMPLATES, render

from ..unit.harness import group_data

ENVIRONMENTS = ("sandbox", "staging", "prod")


def test_every_template_is_covered_here():
    assert {path.name for path in TEMPLATES.glob("*.j2")} == {"vision_experiments.yml.j2"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("target", vision.TARGETS)
def test_vision_experiments_renders_valid_yaml(environment, target):
    made = vision.request_from(group_data(environment), target)
    rendered = vision.experiments_text(None, made, "host:file")
    assert yaml.safe_load(rendered) == made.experiments
    assert "&id" not in rendered


def test_an_undefined_variable_is_an_error():
    with pytest.raises(UndefinedError):
        render("vision_experiments.yml.j2")
