"""Read, check and write run configurations.

:func:`load_config` reads a YAML file with :func:`yaml.safe_load` semantics (plus an error on
duplicated keys, which YAML would otherwise resolve silently), validates it into a
:class:`~pipelines.config.models.RunConfig` with paths resolved against the file's folder,
then checks that every input file exists (:func:`check_paths`). :func:`dump_config` writes a
config back as complete YAML (every default spelled out) that :func:`load_config` reads into an
equal config: the run folder keeps the config it ran, and ``ilots run DIR/config.yaml``
reproduces the run. Its input paths are relative when the inputs are in the config's folder or
in the demo or project folder around it, so that a demo folder moved or copied elsewhere runs
again from its own configs.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from pipelines.config._messages import format_key, validation_error
from pipelines.config._types import has_glob, is_url
from pipelines.config.models import SIZE_KEYS, RunConfig
from tiles.errors import ConfigError

__all__ = [
    "apply_overrides",
    "check_paths",
    "config_digest",
    "config_from_dict",
    "config_paths",
    "config_reference",
    "config_yaml",
    "dump_config",
    "load_config",
    "portable_root",
]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is given twice (first on line {seen[key]}); keep one",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)


class _Dumper(yaml.SafeDumper):
    """``yaml.SafeDumper`` writing short lists of scalars inline: ``bbox: [1.35, 43.55, ...]``."""


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.SequenceNode:
    inline = all(isinstance(v, str | int | float | bool) for v in data) and len(data) <= 12
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=inline)


_Dumper.add_representer(list, _represent_list)


def _parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = err.problem or "not valid YAML"
        text = f"{source}: {where}{problem}{_yaml_hint(problem)}"
        raise ConfigError(text.replace("\n", " ")) from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML ({err})".replace("\n", " ")) from err
    if data is None:
        raise ConfigError(f"{source}: the config is empty; start from an example (ilots demo)")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the config must be a mapping of sections (aoi:, periods:, inputs: ...), "
            f"not a {type(data).__name__}"
        )
    return data


def _yaml_hint(problem: str) -> str:
    """Return what to change for a YAML parser's ``problem``, as ``"; ..."``, or nothing."""
    if "escape" in problem:  # a Windows path in double quotes: C:\Users\...
        return (
            "; in double quotes YAML reads a backslash as an escape: write the path in "
            "single quotes ('C:\\data\\iris.gpkg') or with forward slashes"
        )
    if "'\\t'" in problem:  # PyYAML writes the tab as '\t'
        return (
            "; a tab: indent with spaces (YAML takes no tabs), at the depth of the keys beside it"
        )
    if problem.startswith("expected <block end>"):  # a key or '- ' item off its column
        return (
            "; the indentation is off: indent with spaces, at the depth of the keys (or "
            "'- ' items) beside it"
        )
    if problem.startswith("mapping values are not allowed"):
        return (
            "; a key indented under a value, or ': ' inside a value: indent the key at the "
            "depth of the keys beside it, or quote the value ('Toulouse: summer 2023')"
        )
    return ""


def config_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    source: str = "config",
    document: str | None = None,
) -> RunConfig:
    """Validate a config mapping (as read from YAML) into a :class:`RunConfig`.

    Parameters
    ----------
    data
        The mapping; never modified.
    base_dir
        Folder relative paths resolve against; default the current folder.
    source
        Name of the config in error messages (its file name).
    document
        The YAML text ``data`` came from, to give line numbers in errors.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        One line naming the file, the dotted key and what to fix.
    """
    base = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
    try:
        return RunConfig.model_validate(dict(data), context={"base_dir": base})
    except ValidationError as err:
        raise validation_error(err, RunConfig, source=source, document=document) from None


def load_config(path: str | os.PathLike[str], *, check_paths: bool = True) -> RunConfig:
    """Read and validate a YAML run configuration.

    Parameters
    ----------
    path
        The YAML file. Relative paths inside it resolve against its folder.
    check_paths
        Check that every input file and folder exists (:func:`check_paths`). Turn it off to
        inspect a config whose data are not downloaded yet.

    Returns
    -------
    RunConfig
        Frozen, with absolute paths.

    Raises
    ------
    ConfigError
        The file is missing or not YAML, a key is unknown, a value is bad, or an input file is
        missing: one line naming the file and the dotted key.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        what = "is a folder, not a YAML file" if path.is_dir() else "not found"
        raise ConfigError(f"{source}: config file {what}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{source}: cannot read the config ({err})") from err
    data = _parse_yaml(text, source)
    config = config_from_dict(data, base_dir=path.parent, source=source, document=text)
    if check_paths:
        try:
            _check_paths(config, source=source)
        except ConfigError as err:
            raise ConfigError(f"{err}{_moved_run_hint(path)}") from None
    logger.info("read config %s", source)
    return config


def _moved_run_hint(path: Path) -> str:
    """Say that a run folder's config was moved without the inputs beside its folder, or ""."""
    try:
        manifest = json.loads((path.parent / "manifest.json").read_text(encoding="utf-8"))
        ran_in = Path(manifest["config"]["outputs"]["folder"])
    except (OSError, ValueError, TypeError, KeyError):
        return ""
    if ran_in == path.parent.resolve():
        return ""
    return (
        f"; this config is that of a run made in {ran_in} (its manifest.json), and its "
        f"relative paths lead out of the run folder: move or copy {ran_in.parent} whole, "
        "or edit the paths"
    )


def config_paths(config: RunConfig) -> Iterator[tuple[str, Path]]:
    """Yield ``(dotted key, absolute path)`` of every local file, folder or glob in a config.

    Parameters
    ----------
    config
        A validated config.

    Yields
    ------
    tuple of (str, pathlib.Path)
        Inputs only: the output folder is not listed.
    """
    if config.aoi.file is not None:
        yield "aoi.file", config.aoi.file
    for sensor in ("landsat", "sentinel2"):
        for i, src in enumerate(getattr(config.inputs, sensor)):
            if src.path is not None:
                yield f"inputs.{sensor}[{i}].path", src.path
            if src.catalog is not None and not is_url(src.catalog.href):
                yield f"inputs.{sensor}[{i}].catalog.href", Path(src.catalog.href)
    if config.heat_island.dem is not None:
        yield "heat_island.dem", config.heat_island.dem
    if config.landcover.external is not None:
        yield "landcover.external.path", config.landcover.external.path
    if config.zones.iris is not None:
        yield "zones.iris.path", config.zones.iris.path
    if config.zones.qpv is not None:
        yield "zones.qpv.path", config.zones.qpv.path
    for i, layer in enumerate(config.zones.extra):
        yield f"zones.extra[{i}].path", layer.path
    for key in ("filosofi", "population"):
        value = getattr(config.census, key)
        if value is not None:
            yield f"census.{key}", value


def check_paths(config: RunConfig, *, source: str = "config") -> None:
    """Check that every input path of a config exists (a glob must match something).

    Parameters
    ----------
    config
        A validated config.
    source
        Name of the config in the message (its file name).

    Raises
    ------
    ConfigError
        ``"<source>: <key>: file not found: <path>"`` for the first missing path (or a census
        table given as a folder), followed by the keys of the other missing ones.
    """
    problems: list[tuple[str, str]] = []
    for key, path in config_paths(config):
        if has_glob(path):
            if not glob.glob(str(path), recursive=True):
                problems.append((key, f"nothing matches {path}"))
        elif not path.exists():
            problems.append((key, f"file not found: {path}{_case_hint(path)}"))
        elif key.startswith("census.") and path.is_dir():  # tables are files
            problems.append((key, f"{path} is a folder; give the table file in it"))
    if problems:
        key, message = problems[0]
        text = f"{source}: {key}: {message}"
        if len(problems) > 1:
            text += "; also missing: " + ", ".join(k for k, _m in problems[1:])
        raise ConfigError(text)


def _case_hint(path: Path) -> str:
    """Name a file beside ``path`` whose name differs only in case (INSEE's ``.CSV``)."""
    try:
        near = [p.name for p in path.parent.iterdir() if p.name.lower() == path.name.lower()]
    except OSError:
        return ""
    return f" (there is {near[0]} beside it: the case differs)" if near else ""


_check_paths = check_paths


def dump_config(config: RunConfig, path: str | os.PathLike[str]) -> Path:
    """Write a config as YAML that :func:`load_config` reads back into an equal config.

    Every field is written, defaults included, so that the file describes the run even if
    defaults change. Paths inside the file's folder, or inside the demo or project folder
    around it (:func:`portable_root`), are written relative to the file's folder, others
    absolute. The file is written atomically (temporary name, then rename).

    Parameters
    ----------
    config
        The config to write.
    path
        Destination YAML file (its folder is created).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writers' atomic write (temporary name, then rename), with the permissions the umask
    # gives, as the run's other files. Imported here: reading a config needs no writer.
    from pipelines.outputs._atomic import write_text_atomic

    return write_text_atomic(path, config_yaml(config, path))


def config_yaml(config: RunConfig, path: str | os.PathLike[str]) -> str:
    """Return the YAML text :func:`dump_config` writes to ``path``, without writing it.

    Its relative paths are relative to ``path``'s folder: a writer that stages the file
    elsewhere before renaming it onto ``path`` (``ilots scenarios``) writes this text. The
    paths under :func:`portable_root` of that folder are written relative, others absolute.
    """
    path = Path(path)
    folder = path.parent.resolve()
    context = {"relative_to": folder, "relative_within": portable_root(folder)}
    data = config.model_dump(mode="json", context=context)
    header = (
        "# ilots run configuration (every default spelled out).\n"
        "# Relative paths are relative to this file's folder. "
        f"'ilots run {path.name} --out NEW_FOLDER' reproduces the run\n"
        "# (without --out it writes to outputs.folder); 'ilots scenarios' its scenarios.\n"
    )
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def portable_root(folder: Path) -> Path:
    """Return the folder under which a config written in ``folder`` gives relative paths.

    ``folder``'s parent when it holds a ``config.yaml`` (a demo or project folder with the
    run folder inside it: ``ilots demo`` lays out ``products/``, ``zones/``, ``census/`` and
    ``config.yaml`` beside ``outputs/``), so that the run folder's config reaches its inputs
    as ``../zones/iris.gpkg`` and the whole folder can be moved or copied; else ``folder``
    itself (a path in a sibling folder stays absolute: the run folder alone can move). A
    run's ``manifest.json`` records its inputs relative to the same folder.

    Parameters
    ----------
    folder
        The absolute folder of the config file to write.

    Returns
    -------
    pathlib.Path
        ``folder`` or its parent.
    """
    parent = folder.parent
    return parent if parent != folder and (parent / "config.yaml").is_file() else folder


def config_digest(config: RunConfig, *, without: Iterable[str] = ()) -> str:
    """SHA-256 of a config's canonical JSON (absolute paths): a run fingerprint.

    Parameters
    ----------
    config
        The config.
    without
        Dotted keys left out (``"census"``, ``"scheduler.kind"``), for a fingerprint of
        what depends on the rest only.

    Returns
    -------
    str
        64 hexadecimal characters; equal configs give equal digests.
    """
    data = config.model_dump(mode="json")
    for key in without:
        *parents, last = key.split(".")
        node = data
        for part in parents:
            node = node.get(part) or {}
        node.pop(last, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def apply_overrides(
    config: RunConfig,
    overrides: Mapping[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    source: str = "command line",
) -> RunConfig:
    """Return a copy of a config with some dotted keys replaced, validated again.

    This is how command-line options such as ``--out`` or ``--scheduler`` change a loaded
    config: ``apply_overrides(config, {"outputs.folder": out, "scheduler": "tcp://h:8786"})``.

    Parameters
    ----------
    config
        The config to start from (never modified).
    overrides
        Dotted key -> new value (YAML-like: strings, numbers, lists, mappings). A value of
        ``None`` is skipped, so unset options can be passed as they are.
    base_dir
        Folder relative paths in the overrides resolve against; default the current folder.
    source
        Name of the overrides' origin in error messages.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        An unknown key or a bad value, named by its dotted key.
    """
    data = config.model_dump(mode="json")
    for key, value in overrides.items():
        if value is None:
            continue
        parts = key.split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                raise ConfigError(f"{source}: {'.'.join(parts[: i + 1])}: not a config section")
            node = child
        # A size in metres or in pixels replaces the config's, whichever it gave (both in
        # the overrides: the model refuses them).
        pair = SIZE_KEYS.get(parts[0], ()) if len(parts) == 2 else ()
        if parts[-1] in pair:
            other = pair[1 - pair.index(parts[-1])]
            if f"{parts[0]}.{other}" not in overrides:
                node.pop(other, None)
        node[parts[-1]] = os.fspath(value) if isinstance(value, os.PathLike) else value
    with warnings.catch_warnings():
        # The config's own deprecated keys were said when it was read: not again (a new
        # one, or the same on another grid.resolution, is).
        for text in config.pixel_key_warnings():
            warnings.filterwarnings("ignore", message=re.escape(text) + "$")
        return config_from_dict(data, base_dir=base_dir, source=source)


def config_reference() -> list[tuple[str, str, str]]:
    """Every config key with its default and description, for documentation.

    Returns
    -------
    list of (str, str, str)
        ``(dotted key, default as YAML text, description)`` in declaration order; list
        elements are shown as ``key[]``.
    """
    rows: list[tuple[str, str, str]] = []
    _reference(RunConfig, (), rows)
    return rows


def _reference(model: type[BaseModel], prefix: tuple[str, ...], rows: list[Any]) -> None:
    from pipelines.config._messages import _inner_model

    for name, field in model.model_fields.items():
        key = (*prefix, field.alias or name)  # as written in YAML: from, not from_
        inner = _inner_model(field.annotation)
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if field.is_required():
            default = "(required)"
        else:
            # A default a validator fills in (periods.months with years) is shown as such.
            value = extra.get("effective_default", field.get_default(call_default_factory=True))
            if inner is not None and isinstance(value, dict):
                default = "(section)"
            else:
                if isinstance(value, tuple):
                    value = list(value)
                default = yaml.safe_dump(value, default_flow_style=True).strip()
                default = default.removesuffix("\n...").removesuffix("...").strip()
        rows.append((format_key(key), default, field.description or ""))
        if inner is not None:
            is_list = "tuple" in str(field.annotation)
            _reference(inner, (*key[:-1], key[-1] + ("[]" if is_list else "")), rows)
