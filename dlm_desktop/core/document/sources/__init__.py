"""`training.sources`: folders and files a document trains on besides its own sections.

Entry point: `expand_sources(frontmatter, base_dir)`. The modules, from the outside in:

* `resolve`: where a directive path points, and the `sources_policy` check;
* `discovery`: the walk of a source folder and the `.dlm/` folders found in it;
* `config` and `ignore`: `.dlm/training.yaml` and `.dlm/ignore`;
* `verdict`: include/exclude/default-exclude rules and metadata tags for one file;
* `globs`: the glob dialect, the default excludes, the binary sniff;
* `expand`: the loop that turns surviving files into prose sections.
"""

from dlm_desktop.core.document.sources.config import TrainingYaml, load_training_yaml, parse_training_yaml
from dlm_desktop.core.document.sources.discovery import DiscoveredConfig
from dlm_desktop.core.document.sources.expand import SourceExpansion, SourceProvenance, expand_sources
from dlm_desktop.core.document.sources.globs import DEFAULT_EXCLUDES, glob_matches, looks_binary
from dlm_desktop.core.document.sources.ignore import IgnoreRule, parse_ignore_text, rule_matches
from dlm_desktop.core.document.sources.resolve import source_base

__all__ = [
    "DEFAULT_EXCLUDES",
    "DiscoveredConfig",
    "IgnoreRule",
    "SourceExpansion",
    "SourceProvenance",
    "TrainingYaml",
    "expand_sources",
    "glob_matches",
    "load_training_yaml",
    "looks_binary",
    "parse_ignore_text",
    "parse_training_yaml",
    "rule_matches",
    "source_base",
]
