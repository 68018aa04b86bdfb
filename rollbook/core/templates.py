"""Render the templates in ``templates/`` (one per managed file); undefined variables are errors::

    render("vision_experiments.yml.j2", experiments={"wave_a": {"enabled": False}})
"""

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined
from .paths import checkout

TEMPLATES = checkout() / "templates"


class _PlainDumper(yaml.SafeDumper):
    """Never writes anchors and aliases (``&id001``): every entry spelled out."""

    def ignore_aliases(self, data):
        return True


def _to_yaml(value) -> str:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises here, naming the variable
    return yaml.dump(value, Dumper=_PlainDumper, default_flow_style=None, sort_keys=False).rstrip("\n")


def render(name: str, **variables) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["to_yaml"] = _to_yaml
    return env.get_template(name).render(**variables)
