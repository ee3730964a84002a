"""The ``ilots`` command line: a thin layer over the Python API.

Only this module configures logging handlers and progress display. Every command exits
non-zero with a one-line reason when its input is bad (any :class:`~tiles.errors.IlotsError`,
a missing file, a bad option).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import re
import shlex
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import click

from tiles.errors import IlotsError, IlotsWarning, OutputExistsError, collected_warnings

__all__ = ["main"]

_LOG = logging.getLogger("ilots")


def _friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn input errors into one line on stderr and exit status 1.

    An output that exists, which the command was not told to replace, is a bad ``--out``:
    exit status 2, as click's own usage errors.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OutputExistsError as err:
            raise click.BadParameter(str(err), param_hint=err.option) from err
        except (IlotsError, FileNotFoundError, ValueError) as err:
            checkpoint = _missing_checkpoint(err)
            if checkpoint is not None:
                raise click.ClickException(checkpoint) from err
            raise click.ClickException(f"{type(err).__name__}: {err}") from err
        except OSError as err:
            http = re.search(r"HTTP response code: (\d+)", str(err))
            if http is not None:  # GDAL reading a remote input (rasterio's RasterioIOError)
                unsigned = _unsigned_searches(kwargs.get("config_path"))
                raise click.ClickException(_http_message(int(http[1]), unsigned)) from err
            # GDAL reports a full disk through rasterio without an errno: match its text.
            if err.errno in _DISK_ERRORS or "No space left on device" in str(err):
                where = f" writing {err.filename}" if err.filename else ""
                raise click.ClickException(
                    f"{err.strerror or err}{where}: free some space (a tiled run's checkpoints "
                    "need what --dry-run says) or choose another --out; run the same command "
                    "again afterwards: a tiled run resumes from its finished tiles"
                ) from err
            corrupt = _undecodable_file(err)
            if corrupt is not None:
                raise click.ClickException(_corrupt_message(corrupt)) from err
            if _LOG.isEnabledFor(logging.DEBUG):  # -vv: the traceback, for a bug report
                raise
            raise click.ClickException(f"{type(err).__name__}: {err}") from err
        except Exception as err:
            corrupt = _undecodable_file(err) if _is_rasterio_error(err) else None
            if corrupt is not None:
                raise click.ClickException(_corrupt_message(corrupt)) from err
            failure = _cluster_failure(err) or _rasterio_failure(err)
            if failure is None or _LOG.isEnabledFor(logging.DEBUG):
                raise
            raise click.ClickException(failure) from err

    return wrapper


#: Said of a failure on a Dask cluster that may come from a worker's view of the files.
_SAME_PATHS = "on a cluster every worker must see the inputs and the run folder at the same paths"
#: Said of a failure a run recovers from.
_AGAIN = "run the same command again to resume from the finished tiles"


def _missing_checkpoint(err: BaseException) -> str | None:
    """Say that a tile checkpoint is missing, when ``err`` is about one.

    The cluster is named only when the run computed on one (a worker may see the run
    folder elsewhere). Either way the same command recovers: a run computes anew the tiles
    whose pieces are missing.
    """
    from pipelines.run_tiles import CHECKPOINT_DIR, opened_on_cluster

    filename = getattr(err, "filename", None)
    if not isinstance(err, FileNotFoundError) or filename is None:
        return None
    if CHECKPOINT_DIR not in Path(os.fspath(filename)).parts:
        return None
    if not opened_on_cluster():
        return f"the tile checkpoint {filename} is missing (removed while the run ran); {_AGAIN}"
    return (
        f"the tile checkpoint {filename} is missing: {_SAME_PATHS} (a worker wrote it, or "
        f"read it, where this machine does not); {_AGAIN}"
    )


def _cluster_failure(err: BaseException) -> str | None:
    """One line on a failure of the Dask cluster or on its workers; None for another error.

    A worker's error that distributed cannot rebuild here (rasterio's) comes back as a
    plain ``Exception`` holding its ``repr``. A corrupt input is no failure a new run
    recovers from: that line says to download it again.
    """
    if "distributed" not in sys.modules:  # no cluster ran
        return None
    from distributed.client import FutureCancelledError
    from distributed.scheduler import KilledWorker

    if isinstance(err, KilledWorker):
        worker = getattr(err.last_worker, "address", err.last_worker)
        return (
            f"the Dask worker {worker} died while running the run's tasks (out of memory, or "
            f"killed: its log says which); {_AGAIN}"
        )
    if isinstance(err, FutureCancelledError):
        if err.reason == "scheduler-connection-lost":
            why = "lost the connection to the Dask scheduler (it stopped, or the network failed)"
        else:
            why = f"the Dask scheduler cancelled the run's tasks ({err.reason})"
        return f"{why}: check that the scheduler and its workers run; {_AGAIN}"
    remote = re.fullmatch(r"(\w+)\((['\"])(.*)\2\)", str(err), re.S)
    if type(err) is not Exception or remote is None:
        return None
    name, text = remote[1], remote[3].splitlines()[0]
    missing = re.fullmatch(r"(.+?): No such file or directory", text)
    if missing is not None:
        return f"a Dask worker cannot open {missing[1]} (no such file): {_SAME_PATHS}; {_AGAIN}"
    if name == "ReadError":  # says which file and what to do
        return f"{name} on a Dask worker: {text}"
    if re.match(r"(Read failed|Chunk and warp failed)\b", text):
        return (
            f"{name} on a Dask worker: {text}: an input file is corrupt (its pixels cannot be "
            "decoded; the worker's log names it); download it again"
        )
    return f"{name} on a Dask worker: {text}; {_AGAIN}"


#: Seconds an interrupted command is given to end before its process is ended for it.
EXIT_GRACE_S = 10


_RUN_LEFT = (
    "the run folder has no manifest.json, so it is not taken for a finished run; a tiled run "
    "keeps its finished tiles in .checkpoints/ and the same command resumes from them"
)
_SCENARIOS_LEFT = (
    "the run folder's previous scenarios/, report and manifest are as they were (stopped "
    "while the pipeline ran first, the folder has no manifest and the same command resumes a "
    "tiled run)"
)
_DEMO_LEFT = "run the same command again to make the demo anew"


def _interruptible(left: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Stop a long command on Ctrl-C or SIGTERM with one line, and make sure it exits.

    ``left``: what the interrupted command leaves, said on that line.

    SIGTERM (``kill``, SLURM, systemd, ``docker stop``) is taken as Ctrl-C, so the run cleans
    up as it does then (temporary files removed, no manifest). Once interrupted, the process
    ends within :data:`EXIT_GRACE_S` seconds of its exit even if a library's thread hangs
    there (Dask's thread pool, caught mid-callback by the interrupt, kept one in ~30
    interrupted runs alive, joined by ``concurrent.futures`` at exit): the deadline is armed
    by the first of the threading module's exit calls.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            main_thread = threading.current_thread() is threading.main_thread()
            previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
            try:
                return func(*args, **kwargs)
            except KeyboardInterrupt as err:  # a command may say better what it left
                if "distributed" in sys.modules:  # its closing, as the process ends: unsaid
                    from pipelines.scheduler import silence_cluster_logs

                    silence_cluster_logs()
                click.echo(f"interrupted: {getattr(err, 'left', left)}", err=True)
                register = getattr(threading, "_register_atexit", None)  # before the joins
                if register is not None:
                    register(_exit_deadline)
                raise SystemExit(130) from None
            finally:
                if previous is not None:
                    signal.signal(signal.SIGTERM, previous)

        return wrapper

    return decorate


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _exit_deadline() -> None:
    """End the process :data:`EXIT_GRACE_S` seconds from now if it has not ended by then."""
    ending = threading.Timer(EXIT_GRACE_S, os._exit, (130,))
    ending.daemon = True
    ending.start()


def _undecodable_file(err: BaseException) -> str | None:
    """Return the file GDAL failed to decode (:func:`raster.gdal_errors.undecodable_file`)."""
    from raster.gdal_errors import undecodable_file  # raster's imports wait for a failure

    return undecodable_file(err)


def _corrupt_message(file: str) -> str:
    """Say that GDAL cannot decode the pixels of ``file``, and what to do."""
    return (
        f"ReadError: {file}: the file is corrupt (its pixels cannot be decoded); download it again"
    )


def _is_rasterio_error(err: BaseException) -> bool:
    """Whether ``err`` is one of rasterio's errors (rasterio imported only if it was)."""
    errors = sys.modules.get("rasterio.errors")
    return errors is not None and isinstance(err, errors.RasterioError)


def _rasterio_failure(err: BaseException) -> str | None:
    """One line on a rasterio error that is no OSError (a warp, a window); None for another.

    rasterio's own words, then GDAL's first cause when it chains one.
    """
    if not _is_rasterio_error(err):
        return None
    from raster.gdal_errors import deepest_reason

    cause = deepest_reason(err)
    said = str(err).strip().rstrip(".")
    return f"{type(err).__name__}: {err}" + (f" ({cause})" if cause != said else "")


def _unsigned_searches(config_path: Path | None) -> list[str]:
    """Return the keys of the config's STAC API searches without ``stac_api.sign``.

    ``inputs.landsat[0]``...; none without a config (``ilots lst`` on an item file).
    """
    if config_path is None:
        return []
    from pipelines.config import load_config

    try:
        inputs = load_config(config_path, check_paths=False).inputs
    except IlotsError:
        return []
    return [
        f"inputs.{sensor}[{i}]"
        for sensor in ("landsat", "sentinel2")
        for i, src in enumerate(getattr(inputs, sensor))
        if src.stac_api is not None and src.stac_api.sign is None
    ]


def _http_message(code: int, unsigned: Sequence[str] = ()) -> str:
    """One line on a remote input that refused to be read, and what to do.

    ``unsigned``: the config keys of the STAC API searches that do not sign their URLs
    (:func:`_unsigned_searches`); Planetary Computer's files are signed whatever the input.
    """
    again = "run the same command again (a tiled run resumes from its finished tiles)"
    if code in (401, 403, 409) and unsigned:
        apis, its = ("API", "its") if len(unsigned) == 1 else ("APIs", "their")
        why = (
            f"access refused: the STAC {apis} of {', '.join(unsigned)} may need {its} URLs "
            f"signed ({unsigned[0]}.stac_api.sign: planetary_computer, with pip install "
            f"planetary-computer), or {its} signing service refused; {again}"
        )
    elif code in (401, 403, 409):
        why = (
            "access refused: Planetary Computer's files are signed at each read, from item "
            "files, catalogues and searches alike, so either its storage refused the token: "
            f"{again}; or the files are in storage ilots cannot sign: download the products "
            "and give their folder"
        )
    elif code == 404:
        why = "the file is no longer on the server; run again to search the catalogue anew"
    else:
        why = "check the network connection and run the same command again"
    return f"a remote input file could not be read (HTTP {code}): {why}"


#: OS errors that mean the disk (or the user's quota) is full.
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT}


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """One line per warning, without the source line: users read these, not developers."""
    _echo_warnings([str(message)], category.__name__)


def _echo_warnings(messages: list[str], category: str = "IlotsWarning") -> None:
    """Write the warnings a run collected to stderr, as those said as they happen.

    Also to the run folder's log of the command (:func:`_run_logged`), those it has not
    written yet, with their ``category`` (a library's, with -vv).
    """
    for message in messages:
        click.echo(f"warning: {message}", err=True)
    _log_warnings(messages, category)


def _log_warnings(messages: list[str], category: str = "IlotsWarning") -> None:
    """Write warnings said otherwise (``ilots demo``'s lines) to the command's run log.

    Those the log (:func:`_run_logged`) has not written yet, with their ``category`` and
    kind; none outside a logged command.
    """
    log = _RUN_LOG.get()
    if log is None:
        return
    for message in messages:
        log.warning(message, category)


#: Libraries whose DEBUG records flood a -vv log.
_CHATTY_LIBRARIES = ("rasterio", "matplotlib", "PIL", "fiona", "pyogrio", "numba", "asyncio")


def _setup_logging(verbose: int) -> None:
    _logging_rules(verbose)
    # ilots' own warnings always show; the libraries' deprecation chatter only with -vv.
    warnings.simplefilter("default" if verbose >= 2 else "ignore")
    warnings.simplefilter("always", IlotsWarning)
    warnings.showwarning = _show_warning


def _logging_rules(verbose: int) -> None:
    """Set up logging for ``verbose`` (``-v`` count): this process's, and a cluster worker's.

    ``ilots run --workers`` runs it in each worker process (:func:`_worker_logging`).
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    # The terminal's level is its handler's: ilots' loggers pass INFO to a run log whatever
    # -v says (_logging_to).
    terminal = logging.StreamHandler()
    terminal.setLevel(level)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[terminal]
    )
    # odc-stac logs each failed read at ERROR, and ilots says it in one line instead: its
    # records stop short of the terminal, but still reach the handlers on its loggers (the
    # "skipped an unreadable file" warnings of raster.load), and show with -v.
    odc = logging.getLogger("odc.loader")
    if not any(isinstance(h, logging.NullHandler) for h in odc.handlers):
        odc.addHandler(logging.NullHandler())  # else logging's last resort prints them
    odc.propagate = verbose > 0
    # -vv is for ilots' own debug lines: the libraries' per-call ones (rasterio's for every
    # file it opens, matplotlib's font search: 99 % of a run's 37,000 lines) stay at INFO.
    for name in _CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.INFO))


def _worker_logging() -> Callable[[], None]:
    """Return the logging setup of this command's ``-v`` count, for its worker processes.

    Those of ``ilots run --workers`` do not run the command: without it, the libraries'
    records of a failed read reached the terminal before ilots' one line, even without -v.
    """
    verbose = click.get_current_context().find_root().params.get("verbose", 0)
    return functools.partial(_logging_rules, verbose)


#: ilots' own loggers, whose records a run folder's log keeps (not the libraries').
_OWN_LOGGERS = ("pipelines", "raster", "tiles", "ilots")

#: The log of the command running (:func:`_run_logged`), for the warnings it says at its end.
_RUN_LOG: ContextVar[Any] = ContextVar("ilots_run_log", default=None)


def _run_logged(func: Callable[..., Any]) -> Callable[..., Any]:
    """Keep the command's log in its run folder's ``ilots.log`` (:mod:`pipelines.run_log`).

    A header line, ilots' records (INFO, DEBUG with -vv) and warnings, then how it ended:
    finished, the one-line error of :func:`_friendly_errors` (which it wraps) with its
    traceback, or interrupted. Held in memory until a run claims the folder
    (:func:`~pipelines.outputs.folder.watching_claims`); dropped if none does.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from pipelines.outputs._atomic import ilots_version
        from pipelines.outputs.folder import watching_claims
        from pipelines.run_log import RunLog

        verbose = click.get_current_context().find_root().params.get("verbose", 0)
        log = RunLog(logging.DEBUG if verbose >= 2 else logging.INFO)
        log.note("START", f"ilots {ilots_version()}: {shlex.join(sys.argv)} (cwd {os.getcwd()})")
        started, token = time.perf_counter(), _RUN_LOG.set(log)
        try:
            with _logging_to(log), watching_claims(log.claim), collected_warnings(log.warning):
                try:
                    result = func(*args, **kwargs)
                except BaseException as err:
                    _log_end(log, time.perf_counter() - started, err)
                    raise
                _log_end(log, time.perf_counter() - started)
                return result
        finally:
            _RUN_LOG.reset(token)
            log.close()
            if log.failure is not None:
                why = log.failure.strerror or log.failure
                click.echo(f"warning: {log.path} could not be written: {why}", err=True)

    return wrapper


@contextlib.contextmanager
def _logging_to(handler: logging.Handler) -> Iterator[None]:
    """Give ``handler`` the records of :data:`_OWN_LOGGERS` down to its level, in the block."""
    loggers = [logging.getLogger(name) for name in _OWN_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > handler.level:
            logger.setLevel(handler.level)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _log_end(log: Any, elapsed: float, err: BaseException | None = None) -> None:
    """Write how the command ended to its run log: finished, failed (``err``), interrupted."""
    status = err.code if isinstance(err, SystemExit) else None
    if isinstance(err, KeyboardInterrupt) or status == 130:
        log.note("END", f"interrupted after {elapsed:.1f} s")
        return
    if err is not None and not isinstance(err, SystemExit):
        if isinstance(err, click.ClickException):  # what the terminal shows, and its cause
            log.error(err.format_message(), err.__cause__ or err)
        else:  # a bug: the terminal shows the traceback too
            log.error(f"{type(err).__name__}: {err}", err)
        log.note("END", f"failed after {elapsed:.1f} s")
        return
    manifest = log.path.with_name("manifest.json") if log.path is not None else None
    made = f": {manifest}" if manifest is not None and manifest.is_file() else ""
    exit_status = f" (exit status {status})" if status else ""  # --strict's
    log.note("END", f"finished in {elapsed:.1f} s{made}{exit_status}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ilots")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Urban heat islands and land cover from Landsat 8/9 and Sentinel-2, per IRIS and QPV."""
    _setup_logging(verbose)


def _progress_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Show a progress bar (default: when the terminal is interactive).",
    )(func)


#: Exit status of ``--strict`` (``ilots run``, ``lst``, ``indices``, ``zonal``,
#: ``inequality``, ``compare``) when the command warned (1: an error, 130: interrupted).
STRICT_STATUS = 3


def _strict_exit(strict: bool, warned: int, what: str) -> None:
    """Under ``--strict``, end with :data:`STRICT_STATUS` when ``what`` warned."""
    if strict and warned:
        click.echo(
            f"--strict: {what} finished with {warned} warning(s) (above); exit status "
            f"{STRICT_STATUS}",
            err=True,
        )
        raise SystemExit(STRICT_STATUS)


def _strict_option(
    what: str, warned: str, note: str = ""
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``--strict`` to a command: exit with :data:`STRICT_STATUS` when ``what`` warned.

    Every :class:`~tiles.errors.IlotsWarning` issued while the command runs counts, as those
    of ``ilots run``; ``warned`` names some for the help text, ``note`` ends it.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return click.option("--strict", is_flag=True, help=_strict_help(what, warned, note))(
            _counting_warnings(func, what)
        )

    return decorate


def _strict_help(what: str, warned: str, note: str = "") -> str:
    """Return the help of ``--strict`` for command ``what``; ``warned`` names warnings."""
    return (
        f"Exit with status {STRICT_STATUS} when {what} warned ({warned}); the output is "
        "written all the same, so that a script does not take a partial result for a "
        f"whole one.{note}"
    )


def _counting_warnings(func: Callable[..., Any], what: str) -> Callable[..., Any]:
    """Run ``func`` without its ``strict`` argument; under it, end as :func:`_strict_exit`."""

    @functools.wraps(func)
    def wrapper(*args: Any, strict: bool, **kwargs: Any) -> Any:
        with collected_warnings() as warned:
            func(*args, **kwargs)
        _strict_exit(strict, len(warned), what)

    return wrapper


def _overwrite_option(
    what: str = "OUT if it exists",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add ``--overwrite``: replace ``what`` (the outputs); without it, refuse when one exists.

    Without it an output that appears while the command works is not replaced either; with
    it a symbolic link is written through (:func:`~pipelines.outputs._atomic.staged`).
    """
    return click.option(
        "--overwrite",
        is_flag=True,
        help=f"Replace {what} (default: refuse); through a symbolic link, the file it names.",
    )


@main.command("lst")
@click.argument("product", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output COG (float32, kelvin, masked pixels as nodata).",
)
@_overwrite_option()
@click.option(
    "--method",
    type=click.Choice(["auto", "l2", "single-band", "single-channel"]),
    default="auto",
    show_default=True,
    help="l2: USGS ST_B10; single-band / single-channel: Level-1 thermal route. "
    "auto picks l2 for Level-2 products and single-band for Level-1.",
)
@click.option(
    "--mask",
    "mask_preset",
    type=click.Choice(["default", "gee", "strict"]),
    default="default",
    show_default=True,
    help="QA_PIXEL preset: default rejects fill, dilated cloud, cirrus, cloud, "
    "shadow, snow; gee keeps snow; strict adds cloud confidence >= medium (a cloud mask; "
    "the exit status is --strict's). A Collection 1 BQA has one fixed rule: gee and strict "
    "are not applied there (a warning says so).",
)
@click.option(
    "--keep-water",
    is_flag=True,
    help="Keep water pixels (masked by default: QA_PIXEL bit 7; NDVI < 0 for Collection 1, "
    "whose BQA has no water bit).",
)
@click.option(
    "--st-qa-max",
    type=float,
    default=None,
    help="Reject pixels whose ST_QA uncertainty exceeds this many kelvin (L2; off by "
    "default here, 2 K in ilots run's mask.st_qa_max_k).",
)
@click.option(
    "--cdist-min",
    type=float,
    default=None,
    help="Reject pixels closer than this many km to a cloud (ST_CDIST, L2; off by default "
    "here, 1 km in ilots run's mask.cdist_min_km).",
)
@click.option(
    "--dilate",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Grow the cloud mask by this many pixels.",
)
@click.option(
    "--water-vapour",
    type=float,
    default=None,
    help="Atmospheric water vapour in g/cm2 (single-channel method only; default 2.0).",
)
@click.option(
    "--sharpen-with",
    "sharpen_with",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Sharpen the LST to the grid of this one-band NDVI GeoTIFF (e.g. Sentinel-2 at "
    "10 m; its pixel size must divide 30 m): NDVI regression with a residual correction "
    "that keeps each 30 m cell's radiance. The COG is then on the NDVI's grid.",
)
@_progress_option
@_strict_option(
    "ilots lst",
    "no valid pixel after masking, an option not applied ...",
    " Not a cloud mask: that is --mask strict.",
)
@_friendly_errors
def lst_command(
    product: Path,
    out: Path,
    method: str,
    mask_preset: str,
    keep_water: bool,
    st_qa_max: float | None,
    cdist_min: float | None,
    dilate: int,
    water_vapour: float | None,
    sharpen_with: Path | None,
    progress: bool | None,
    overwrite: bool,
) -> None:
    """Land surface temperature (K) of one Landsat PRODUCT as a COG.

    PRODUCT is a product folder, one of its _MTL files (.txt, .json, .xml), the USGS .tar or a
    STAC item JSON. The COG stays on the product's own grid (no reprojection), or with
    --sharpen-with is sharpened onto the NDVI's grid. An existing --out is refused before
    any work unless --overwrite is given; it is then replaced at once, when the new COG is
    whole.
    """
    from pipelines.outputs._atomic import check_new, check_output
    from pipelines.product import (
        MaskOptions,
        open_item,
        product_files,
        product_lst,
        sharpen_product_lst,
        write_product_raster,
    )
    from pipelines.progress import dask_progress

    if out.suffix.lower() not in (".tif", ".tiff"):
        raise click.BadParameter(f"the COG must end in .tif (got {out.name})", param_hint="--out")
    item = open_item(product)
    options = MaskOptions(
        preset=mask_preset,
        keep_water=keep_water or None,
        dilate_px=dilate,
        st_qa_max_k=st_qa_max,
        cdist_min_km=cdist_min,
    )
    with _removed_if_failed(out.parent):
        check_output(
            out,
            inputs=[product, *product_files(item), sharpen_with],
            make_folder=True,
            overwrite=overwrite,
        )
        if not overwrite:
            check_new([out])
        result = product_lst(item, method=method, mask=options, water_vapour=water_vapour)
        if sharpen_with is None:
            with dask_progress("land surface temperature", progress):
                path = write_product_raster(result, out, overwrite=overwrite)
            click.echo(f"wrote {path} ({result.attrs['valid_pixels']} valid pixels)")
            return
        sharpened = sharpen_product_lst(result, sharpen_with)
        with dask_progress("sharpened land surface temperature", progress):
            done = sharpened.compute()  # LST, NDVI and the fit in one pass
            path = write_product_raster(done.lst, out, overwrite=overwrite)
    fit = done.fit_values()
    slope = f"{'-' if fit.b < 0 else '+'} {abs(fit.b):.2f}"
    click.echo(
        f"wrote {path} ({done.lst.attrs['valid_pixels']} valid pixels; "
        f"LST = {fit.a:.2f} {slope}·NDVI over {fit.n_cells} cells, r² {fit.r2:.2f})"
    )


@main.command("indices")
@click.argument("product", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--index",
    "index_names",
    default="ndvi",
    show_default=True,
    help="Comma-separated indices: ndvi, ndbi, mndwi, ndwi, savi, ibi, ui, "
    "albedo_liang (Landsat), albedo_s2 (Sentinel-2).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder; one COG per index, named <index>.tif.",
)
@_overwrite_option("the <index>.tif of OUT that exist")
@click.option(
    "--mask",
    "mask_preset",
    default="default",
    show_default=True,
    help="Cloud mask preset: QA_PIXEL default/gee/strict for Landsat (Collection 1: the "
    "BQA's fixed rule), SCL default/conservative/permissive for Sentinel-2; 'none' keeps "
    "every pixel (a cloud mask; the exit status is --strict's). Water is kept (MNDWI and "
    "NDWI need it).",
)
@_progress_option
@_strict_option(
    "ilots indices",
    "no valid pixel after masking, negative reflectances kept, top-of-atmosphere reflectance ...",
    " Not a cloud mask: that is --mask strict.",
)
@_friendly_errors
def indices_command(
    product: Path,
    index_names: str,
    out: Path,
    overwrite: bool,
    mask_preset: str,
    progress: bool | None,
) -> None:
    """Spectral indices of one Landsat or Sentinel-2 PRODUCT, one COG each.

    The normalized differences (ndvi, ndbi, mndwi, ndwi, ui) take a negative reflectance
    (noise about 0, as on dark water) as 0, so they stay in [-1, 1]: a pixel with red < 0
    has NDVI 1, and one with both bands < 0 none. The cloud mask leaves most such pixels
    out; a warning says how many are kept (each COG's ilots_negative_reflectance_pixels tag).
    An <index>.tif already in --out is refused before any work unless --overwrite is given
    (the folder's other files are left alone).
    """
    from pipelines.outputs._atomic import Published, all_or_none, check_new, check_output
    from pipelines.product import (
        MaskOptions,
        open_item,
        product_files,
        product_indices,
        write_product_raster,
    )
    from pipelines.progress import dask_progress

    names = list(dict.fromkeys(n.strip().lower() for n in index_names.split(",") if n.strip()))
    item = open_item(product)
    result = product_indices(item, names, mask=MaskOptions(preset=mask_preset))  # lazy
    read = [product, *product_files(item)]
    # A failed first read leaves no empty --out behind; a COG refused (one that appeared
    # since the check) takes back those this command put in place before it, and a failure
    # those it put where no file was (all_or_none); those left are said, failed or not.
    published = Published()
    try:
        with _removed_if_failed(out), all_or_none(published):
            for name in names:
                check_output(
                    out / f"{name}.tif", inputs=read, make_folder=True, overwrite=overwrite
                )
            if not overwrite:
                check_new(out / f"{name}.tif" for name in names)
            for name in names:
                with dask_progress(name, progress):
                    write_product_raster(
                        result[name], out / f"{name}.tif", overwrite=overwrite, published=published
                    )
    finally:
        for path in published.placed:
            click.echo(f"wrote {path}")


@contextlib.contextmanager
def _removed_if_failed(folder: Path) -> Iterator[None]:
    """Leave no empty folder behind a command that fails.

    When the block fails, remove the empty ``folder`` and those of its parents that did not
    exist before it (made by ``check_output(..., make_folder=True)``).
    """
    made = _missing_folders(folder)
    try:
        yield
    except BaseException:
        _remove_empty(made)
        raise


def _missing_folders(folder: Path) -> list[Path]:
    """Return ``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for path in (folder, *folder.parents):
        if path.exists():
            break
        missing.append(path)
    return missing


def _remove_empty(folders: Sequence[Path]) -> None:
    """Remove the ``folders`` (deepest first) that exist and are empty; stop at one that is not."""
    for folder in folders:
        try:
            folder.rmdir()
        except FileNotFoundError:
            continue
        except OSError:  # not empty (a COG written before the failure), or not ours to remove
            return


@main.command("zonal")
@click.argument("raster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("zones", type=click.Path(exists=True, path_type=Path))
@click.option("--id", "id_field", required=True, help="Zone id column (unique, e.g. CODE_IRIS).")
@click.option(
    "--stats",
    default="mean,count",
    show_default=True,
    help="Comma-separated: count, sum, mean (avg), stdev (std), variance (var), min, max, median, "
    "pNN, quantile(q=0.9), frac, weighted_mean, weighted_sum, valid_frac, "
    "area_m2. frac (the share of each class) needs a class raster: whole codes, at most 256.",
)
@click.option(
    "--method",
    type=click.Choice(["exact", "centre"]),
    default="exact",
    show_default=True,
    help="exact: pixels weighted by the covered fraction; centre: pixel centres "
    "(rasterstats' rule for which pixels count; the statistics keep exactextract's "
    "definitions, so a median of tied values can differ from rasterstats').",
)
@click.option("--all-touched", is_flag=True, help="With --method centre: every touched pixel.")
@click.option(
    "--weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Weight raster on the same grid (weighted_mean, weighted_sum).",
)
@click.option(
    "--band",
    type=click.IntRange(min=1),
    default=None,
    help="Summarise only this band (1-based); all bands by default.",
)
@click.option(
    "--layer",
    default=None,
    help="Layer of ZONES, when it has several (e.g. iris or qpv of a run's zones.gpkg).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache the zone coverage here, keyed by grid and zones, for later runs.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output table: .csv, .parquet, or .gpkg (with the zone geometry), its layer named "
    "after the file (stats.gpkg: stats); an existing GeoPackage keeps its other layers.",
)
@_overwrite_option("OUT if it exists; of a GeoPackage, its layer of that name")
@_progress_option
@_strict_option(
    "ilots zonal",
    "zones outside the raster or without geometry (NaN rows), invalid geometries repaired, "
    "an option ignored ...",
)
@_friendly_errors
def zonal_command(
    raster: Path,
    zones: Path,
    id_field: str,
    stats: str,
    method: str,
    all_touched: bool,
    weights: Path | None,
    band: int | None,
    layer: str | None,
    cache_dir: Path | None,
    out: Path,
    overwrite: bool,
    progress: bool | None,
) -> None:
    """Exact zonal statistics of RASTER over the polygons of ZONES, one row per zone.

    Zones are reprojected to the raster's CRS (never the raster to the zones'); invalid
    geometries are repaired. Statistics follow exactextract's definitions. When RASTER,
    --weights or ZONES say they are synthetic (a demo run's outputs), so does the table.
    An existing --out (of a GeoPackage, its layer named after the file) is refused before
    any work unless --overwrite is given, as is a GeoPackage another ilots command writes.
    """
    from pipelines.outputs._atomic import check_output, refuse_replacing
    from pipelines.outputs.geopackage import check_closed
    from pipelines.outputs.lock import check_file_free
    from pipelines.outputs.tables import (
        check_table_path,
        file_overwrite,
        replaced_table,
        write_table,
    )
    from pipelines.progress import dask_progress
    from pipelines.zonal import zonal_table

    check_table_path(out)
    gpkg = out.suffix.lower() == ".gpkg"
    if gpkg:  # another ilots command writing it: said before anything opens it (its layers
        check_file_free(out)  # are listed, its journals checked, with SQLite); held to write
    with _removed_if_failed(out.parent):
        written = file_overwrite(out, overwrite)  # a GeoPackage there: through a link
        check_output(out, inputs=[raster, zones, weights], make_folder=True, overwrite=written)
        if not overwrite:
            refuse_replacing(replaced_table(out))
        if gpkg:  # open in QGIS: said now, not after the work
            check_closed(out.resolve())  # a link: its file's -wal, as SQLite names it
        with dask_progress("zonal statistics", progress):
            table, frame = zonal_table(
                raster,
                zones,
                id=id_field,
                stats=stats,
                method=method,
                all_touched=all_touched,
                weights=weights,
                band=band,
                cache_dir=cache_dir,
                layer=layer,
            )
        synthetic = bool(table.attrs.get("synthetic"))  # zonal_table read what says so
        path = write_table(table, out, frame, synthetic=synthetic, overwrite=overwrite)
    layer = f", layer {path.stem}" if path.suffix.lower() == ".gpkg" else ""
    click.echo(f"wrote {path}{layer} ({len(table)} zones, {table.shape[1] - 1} columns)")
    moved = _reprojection_note(raster, frame)
    if moved:
        click.echo(moved)


def _reprojection_note(raster: Path, frame: Any) -> str | None:
    """Say that the zones were reprojected to the raster's CRS, when they were."""
    import pyproj
    import rasterio

    from tiles.grid import crs_name

    with rasterio.open(raster) as src:
        target = pyproj.CRS.from_user_input(src.crs)
    source = pyproj.CRS.from_user_input(frame.crs)
    if source.equals(target, ignore_axis_order=True):
        return None
    return f"zones reprojected from {crs_name(source)} to the raster's {crs_name(target)}"


@main.command("run")
@click.argument(
    "config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (default: outputs.folder of the config).",
)
@_overwrite_option(
    "a previous run in the run folder, as outputs.overwrite: true does (for this run only: "
    "its config.yaml keeps the config's value)"
)
@click.option(
    "--scheduler",
    default=None,
    help="Dask scheduler: threads, processes, synchronous or tcp://HOST:PORT "
    "(default: the config's scheduler).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Start a local Dask cluster of N workers.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show the grid, scenes and memory; read no pixel: the products' headers and metadata "
    "only, so damage inside a file's pixel data shows in the run, not here.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Exit with status 3 when the run (or the dry run) warned: a skipped input, IRIS "
    "without LST ... (the outputs are written all the same), so that a script does not take "
    "a partial result for a whole one.",
)
@_progress_option
@_run_logged
@_friendly_errors
@_interruptible(_RUN_LEFT)
def run_command(
    config_path: Path,
    out: Path | None,
    overwrite: bool,
    scheduler: str | None,
    workers: int | None,
    dry_run: bool,
    strict: bool,
    progress: bool | None,
) -> None:
    """Run the whole pipeline of CONFIG.yaml and write the run folder.

    Each run appends its log, warnings and any error's traceback to the run folder's
    ilots.log (this process's records only, with --workers or a cluster).
    """
    from pipelines.config import apply_overrides, load_config
    from pipelines.progress import dask_progress
    from pipelines.run import plan, run
    from pipelines.scheduler import config_scheduler, scheduler_context

    if scheduler is not None and scheduler not in ("threads", "processes", "synchronous"):
        _check_address(scheduler)
    if scheduler is not None and workers is not None:
        raise click.BadParameter(
            "--workers starts a local Dask cluster of N worker processes, which replaces "
            "--scheduler; give one of them",
            param_hint="--workers",
        )
    # The run (its manifest and config.yaml) and the plan are of the scheduler it runs on.
    config = _with_scheduler(load_config(config_path), scheduler, workers)
    if dry_run:
        if out is not None:  # the plan says what the run would find there
            config = apply_overrides(config, {"outputs.folder": str(out.resolve())})
        if overwrite:  # and what it would do with a previous run
            config = apply_overrides(config, {"outputs.overwrite": True})
        try:
            with collected_warnings() as warned:
                click.echo(plan(config, source=str(config_path)).summary())
        except KeyboardInterrupt as err:
            err.left = "the dry run was stopped; it writes nothing"
            raise
        _strict_exit(strict, len(warned), "the dry run")
        return
    folder = out.resolve() if out is not None else Path(config.outputs.folder)
    given_as = "--scheduler" if scheduler else f"{config_path}: scheduler.address"
    with (
        _said_if_not_made(folder),
        scheduler_context(
            config_scheduler(config),
            workers,
            config.scheduler.workers if workers is None else None,
            worker_timeout_s=config.scheduler.worker_timeout_s,
            given_as=given_as,
            worker_logging=_worker_logging(),
        ) as cluster_warnings,
        dask_progress("ilots run", progress),
    ):
        result = run(config, out=out, overwrite=overwrite or None, source=str(config_path))
    click.echo(result.summary(with_warnings=False))
    # Said when the config was read, or the cluster checked: in the manifest, not again.
    said = [*config.pixel_key_warnings(), *cluster_warnings]
    _echo_warnings([message for message in result.warnings if message not in said])
    _strict_exit(strict, len(result.warnings), "the run")


def _check_address(scheduler: str) -> None:
    """Refuse a --scheduler that is no local scheduler's name nor a cluster's address."""
    from pipelines.config.models import scheduler_address

    if ":" not in scheduler:
        raise click.BadParameter(
            "use threads, processes, synchronous or tcp://HOST:PORT", param_hint="--scheduler"
        )
    try:
        scheduler_address(scheduler)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--scheduler") from None


def _with_scheduler(config: Any, scheduler: str | None, workers: int | None) -> Any:
    """Return ``config`` with the scheduler section of ``--scheduler`` or ``--workers``.

    ``--workers N`` is a local cluster of N one-thread worker processes: recorded as
    ``kind: processes`` with N workers, what a run of the recorded config.yaml uses.
    """
    from pipelines.config import apply_overrides

    if scheduler is None and workers is None:
        return config
    section = config.scheduler.model_dump(mode="json")
    if workers is not None:
        section.update(kind="processes", address=None, workers=workers)
    elif "://" in scheduler:
        section.update(kind="distributed", address=scheduler)
    else:
        section.update(kind=scheduler, address=None)
    return apply_overrides(config, {"scheduler": section})


@contextlib.contextmanager
def _said_if_not_made(folder: Path) -> Iterator[None]:
    """Say, of a run interrupted before it made its ``folder``, that it left nothing."""
    existed = folder.exists()
    try:
        yield
    except KeyboardInterrupt as err:
        if not existed and not folder.exists():
            err.left = "the run was stopped before it made its folder; nothing was written"
        raise


@main.command("demo")
@click.option(
    "--out",
    "out",
    default="ilots-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the synthetic products and the outputs; a previous demo there is made "
    "anew, a folder holding another config.yaml, products/, zones/, census/ or outputs/ is "
    "refused.",
)
@_run_logged
@_friendly_errors
@_interruptible(_DEMO_LEFT)
def demo_command(out: Path) -> None:
    """Synthesise a small city in real product formats and process it."""
    from pipelines.demo import run_demo

    report = run_demo(out, echo=click.echo, warned=_log_warnings)
    click.echo(report)


@main.command("report")
@click.argument("run_dir", metavar="RUN_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--lang",
    type=click.Choice(["fr", "en"]),
    default=None,
    help="Language of the report. Default: the run's outputs.report_language (fr).",
)
@_friendly_errors
def report_command(run_dir: Path, lang: str | None) -> None:
    """(Re)build RUN_DIR/report.html, self-contained, and its figures/ from a run folder."""
    from pipelines.report import build_report

    click.echo(str(build_report(run_dir, lang=lang)))


@main.command("scenarios")
@click.argument(
    "config_path", metavar="CONFIG.yaml", type=click.Path(dir_okay=False, path_type=Path)
)
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (default: outputs.folder of the config); reused when it holds a finished "
    "run of this config, else the run is made first.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Run the scenarios even when the model's cross-validated R² is below "
    "scenario_model.r2_min (recorded in model.json).",
)
@_run_logged
@_friendly_errors
@_interruptible(_SCENARIOS_LEFT)
def scenarios_command(config_path: Path, out: Path | None, force: bool) -> None:
    """Fit the scenario model on a run, apply each scenario of CONFIG.yaml, compare them.

    Writes <run folder>/scenarios/: model.json, comparison.csv and .png, and per scenario a
    ΔT COG and map, per-zone ΔT and the inequality metrics after the scenario.
    """
    from pipelines.config import load_config
    from pipelines.scenarios import run_scenarios
    from pipelines.scheduler import config_scheduler, scheduler_context

    config = load_config(config_path)
    # On the config's scheduler, as `ilots run` (the scenarios rerun the run when needed).
    with scheduler_context(config_scheduler(config), None, config.scheduler.workers):
        result = run_scenarios(
            config, out=out, force=force, echo=click.echo, source=str(config_path)
        )
    click.echo("\n".join(result.summary(with_warnings=False)))
    # The run's, when the scenarios made it first (but those said when the config was read).
    said = config.pixel_key_warnings()
    _echo_warnings([message for message in result.run_warnings if message not in said])
    _echo_warnings(result.notes)


@main.command("compare")
@click.argument("run_a", metavar="RUN_A", type=click.Path(path_type=Path))
@click.argument("run_b", metavar="RUN_B", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for compare.gpkg, <layer>_change.csv, inequality_change.json/.csv and "
    "manifest.json (made if missing).",
)
@_overwrite_option("the files of a previous comparison in OUT")
@_strict_option(
    "ilots compare",
    "settings or zones that differ between the runs, a synthetic run ...",
)
@_friendly_errors
def compare_command(run_a: Path, run_b: Path, out: Path, overwrite: bool) -> None:
    """Per-zone change from run folder RUN_A (before) to RUN_B (after).

    For the IRIS and QPV both runs have: ΔT (lst_anomaly_mean_k), NDVI and the land-cover
    shares in A, in B and B − A, both runs' valid_frac and anomaly_valid_frac (ΔT's own
    share) and a flag on the zones either run does not trust or whose shape differs
    (reshaped_frac). ΔT, not the raw LST, is compared: each is taken against its own run's
    rural reference, so the weather's level drops out.
    Refuses runs on another grid CRS or resolution, or whose zones share no id; warns when
    the rural reference, the land-cover source, composite.min_clear, the mask section (its
    cloud dilation as applied, in pixels and metres), zones.qpv.iris_share_threshold, the
    area of interest or the grid's extent differ, when zone ids differ in part or an id has
    another shape, when a run has no ΔT or is synthetic (the demo), or when RUN_A and RUN_B
    are the same run. Refuses an --out another compare or a run is writing, and RUN_A or
    RUN_B while a run writes there (no run starts there while they are read). The QPV gap of
    ΔT of each run, and its change with a permutation test, are over the IRIS both runs
    have, weighted as the runs' own gap (RUN_B's inequality settings):
    inequality_change.json. An --out holding a comparison's files is refused before any
    work unless --overwrite is given; it then keeps only this comparison's files (and every
    other file it held); its manifest.json, written last, marks a finished comparison.
    """
    from pipelines.compare import compare_runs

    result = compare_runs(run_a, run_b, out, overwrite=overwrite)
    click.echo("\n".join(result.summary))
    click.echo(f"wrote {', '.join(str(path) for path in result.files)}")


from pipelines.inequality.cli import inequality_command  # noqa: E402

inequality_command.callback = _counting_warnings(
    _friendly_errors(inequality_command.callback), "ilots inequality"
)
inequality_command.params.append(
    click.Option(
        ["--strict"],
        is_flag=True,
        help=_strict_help(
            "ilots inequality",
            "rows dropped, an implausible income level, a --group or --stratum not used ...",
        ),
    )
)
main.add_command(inequality_command, "inequality")

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
