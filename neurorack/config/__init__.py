"""Configuration: YAML files read with line numbers, validated against one schema.

``load_module_config`` is the entry point for the module config; the same machinery
(``schema.build``) validates board files, menus and sound banks.
"""

from neurorack.config.module import ModuleConfig, load_module_config
from neurorack.config.schema import ConfigError, Problem

__all__ = ["ConfigError", "ModuleConfig", "Problem", "load_module_config"]
