# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Scaling out: the same work on a Dask cluster
#
# A whole agglomeration over several summers is many Landsat and Sentinel-2 scenes and
# thousands of IRIS: more than one laptop process does comfortably. ilots builds every
# computation as a lazy Dask graph, and its zonal statistics are *mergeable* partial sums
# (count, sum, sum of squares, min, max, histograms) computed chunk by chunk. So the same code
# runs on a thread pool, on a few local processes, or on a cluster of machines, and gives the
# same numbers.
#
# This notebook starts a small `dask.distributed.LocalCluster` (2 worker processes, one thread
# each), runs the per-IRIS statistics and then a whole `ilots run` on it, checks that the
# results equal the threaded ones, and closes the cluster. On a real cluster, replace the
# `LocalCluster` by `Client("tcp://scheduler-host:8786")`; from the command line,
# `ilots run config.yaml --workers 4` or `--scheduler tcp://HOST:PORT` do the same.
#
# **Run it in Jupyter** (or any Jupyter kernel, as the project's tests do), not as
# `python notebooks/04_scaling_out.py`: the cluster's worker processes are started by
# *spawning* new Python processes, which import the script that started them, so as a script
# each worker would run this whole file again, cluster included, and fails to start ("An
# attempt has been made to start a new process before the current process has finished its
# bootstrapping phase"). A kernel has no script to import; run as a script, the first cell
# stops with one line saying this.
#
# **The data is synthetic** (the `ilots demo` city: 64 IRIS, 3 QPV, no real place). Set
# `ILOTS_DEMO_DIR` to a folder written by `ilots demo --out DIR` to reuse it; otherwise the
# notebook writes a fresh demo into a temporary folder (about a minute) and removes it when
# its kernel, or the script, ends.

# %%
try:  # a Jupyter kernel defines get_ipython; a plain script does not
    get_ipython  # noqa: B018
except NameError:
    raise SystemExit(
        "04_scaling_out starts worker processes, which a plain script cannot do (each would "
        "run the script again): open it in Jupyter (jupytext --to notebook) instead"
    ) from None

import atexit
import json
import os
import shutil
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import dask
import matplotlib.pyplot as plt
import pandas as pd
import rioxarray
import xarray as xr
from distributed import Client, LocalCluster, get_task_stream

from pipelines.census import read_iris
from pipelines.config import load_config
from pipelines.demo import demo_folder
from pipelines.run import run
from raster.zonal import zonal_stats
from tiles.errors import IlotsWarning

warnings.simplefilter("ignore", IlotsWarning)  # the repaired demo QPV: see notebook 02

DEMO = demo_folder()  # $ILOTS_DEMO_DIR, or a fresh demo in a temporary folder
if not os.environ.get("ILOTS_DEMO_DIR"):  # that temporary demo is this notebook's own:
    atexit.register(shutil.rmtree, DEMO, ignore_errors=True)  # removed when the kernel ends
config = load_config(DEMO / "config.yaml")
RUN = Path(config.outputs.folder)
print("demo folder:", DEMO)

# %% [markdown]
# ## Start a small cluster
#
# Two worker processes with one thread each and a memory limit, on this machine. The
# dashboard (task stream, memory per worker) is at the link printed below when the `bokeh`
# package is installed; nothing here depends on it.

# %%
cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, memory_limit="2GiB", dashboard_address=":0"
)
client = Client(cluster)
print("scheduler:", cluster.scheduler_address)
print("dashboard:", client.dashboard_link)
print("workers:", *sorted(client.scheduler_info()["workers"]), sep="\n  ")

# %% [markdown]
# ## Zonal statistics, chunk by chunk, on the workers
#
# We open the run's rasters lazily in chunks of 256 × 256 pixels: nothing is read yet, each
# chunk is a task that opens its file window itself (paths, not open file handles, travel to
# the workers). With a `Client` active, every `compute` goes to the cluster.
#
# The coverage of the zones (which fraction of which pixel belongs to which IRIS) is computed
# once; each chunk then reduces to small partial sums per IRIS, and the partials are merged.
# `get_task_stream` records which worker ran which task.

# %%
names = ("lst_anomaly", "lst_median", "ndvi_median")
stats = ["mean", "stdev", "min", "max", "count", "p90"]


def open_rasters(chunk: int) -> xr.Dataset:
    """Open the run's rasters as one lazy Dataset, in square chunks of ``chunk`` pixels."""
    layers = {
        name: rioxarray.open_rasterio(
            RUN / "rasters" / f"{name}.tif", masked=True, chunks={"x": chunk, "y": chunk}
        ).squeeze("band", drop=True)
        for name in names
    }
    return xr.Dataset(layers)


iris, _ = read_iris(config.zones.iris.path)
rasters = open_rasters(256)
print(f"{rasters.sizes['x']} x {rasters.sizes['y']} pixels in", rasters["lst_anomaly"].chunks)

start = time.perf_counter()
with get_task_stream(client) as stream:
    cluster_table = zonal_stats(rasters, iris, id="code_iris", stats=stats)
cluster_seconds = time.perf_counter() - start
tasks = Counter(task["worker"] for task in stream.data)
print(f"zonal statistics on the cluster: {cluster_seconds:.1f} s, tasks per worker:")
for worker, count in sorted(tasks.items()):
    print(f"  {worker}: {count}")

# %% [markdown]
# The same call with Dask's local thread pool (the default without a client) must give the
# same table: the partial sums merge exactly, whatever ran them.

# %%
start = time.perf_counter()
with dask.config.set(scheduler="threads"):
    threaded_table = zonal_stats(open_rasters(256), iris, id="code_iris", stats=stats)
threaded_seconds = time.perf_counter() - start
numeric = cluster_table.columns.drop("code_iris")
difference = (cluster_table[numeric] - threaded_table[numeric]).abs().max().max()
print(f"threads: {threaded_seconds:.1f} s; largest difference to the cluster table: {difference:g}")
print(
    cluster_table[["code_iris", "lst_anomaly_mean", "lst_anomaly_p90", "ndvi_median_mean"]]
    .head(8)
    .round(3)
    .to_string(index=False)
)

# %% [markdown]
# On a city this small the cluster is not faster: the first call on fresh workers pays for
# their imports and the compilation of the numba kernels, and starting tasks and moving
# partial sums between processes costs more than the arithmetic. It pays off when the scenes
# and zones no longer fit one process, and when the same coverage is reused for many layers
# and dates.

# %% [markdown]
# ## The whole run on the cluster
#
# `pipelines.run.run` builds its graph the same way, so the whole chain (cloud masks, LST,
# per-scene anomaly against the rural ring, composites, NDVI, land cover, per-IRIS and
# per-QPV tables, income join, inequality) runs on the cluster when a client is active. It
# writes to a new folder here, and we compare its IRIS table with the demo's threaded run.

# %%
cluster_run_dir = Path(tempfile.mkdtemp(prefix="ilots-cluster-run-"))
if not os.environ.get("ILOTS_DEMO_DIR"):  # removed with this notebook's own demo; with a
    # demo folder given, kept: its caller may read the results (the project's tests do)
    atexit.register(shutil.rmtree, cluster_run_dir, ignore_errors=True)
with get_task_stream(client) as stream:
    result = run(config, out=cluster_run_dir)
run_tasks = Counter(task["worker"] for task in stream.data)
print(f"run folder: {result.folder}; tasks per worker: {dict(run_tasks)}")
timings = pd.Series(result.timings, name="seconds").sort_values(ascending=False)
print("the run's slowest stages (seconds):")
print((timings.head(6)).round(2).to_string())

columns = ["lst_mean_k", "lst_anomaly_mean_k", "ndvi_mean", "lc_built_frac"]
on_cluster = pd.read_parquet(cluster_run_dir / "zones" / "iris.parquet").set_index("code_iris")
on_threads = pd.read_parquet(RUN / "zones" / "iris.parquet").set_index("code_iris")
run_difference = (on_cluster[columns] - on_threads.loc[on_cluster.index, columns]).abs().max()
print("largest per-IRIS difference to the threaded demo run:")
print(run_difference.to_string())

# %% [markdown]
# Where did the tasks go? A bar per worker, for the zonal statistics and for the whole run.

# %%
workers = sorted(set(tasks) | set(run_tasks))
labels = [f"worker :{w.rsplit(':', 1)[-1]}" for w in workers]
fig, axes = plt.subplots(1, 2, figsize=(9, 3), constrained_layout=True)
for ax, counts, title in ((axes[0], tasks, "zonal statistics"), (axes[1], run_tasks, "whole run")):
    ax.bar(labels, [counts.get(w, 0) for w in workers], color=["tab:blue", "tab:orange"])
    ax.set(ylabel="tasks", title=f"Tasks per worker: {title} (synthetic demo)")
plt.show()

# %% [markdown]
# ## Close the cluster
#
# Always close the client and the cluster (or use them as context managers: `with
# LocalCluster(...) as cluster, Client(cluster) as client:`), so the worker processes end.

# %%
client.close()
cluster.close()
print("cluster closed:", cluster.status)

# %% [markdown]
# ## Key results
#
# Stored as JSON when `ILOTS_NOTEBOOK_RESULTS` names a file (the project's tests compare the
# cluster's table with a threaded computation on the same inputs).

# %%
results = {
    "n_workers": len(tasks),
    "tasks_per_worker": dict(tasks),
    "zonal_stats": stats,
    "chunk": 256,
    "cluster_table": json.loads(cluster_table.to_json(orient="records", double_precision=15)),
    "cluster_vs_threads_max_abs": float(difference),
    "cluster_run_folder": str(cluster_run_dir),
    "cluster_run_vs_threads_max_abs": {k: float(v) for k, v in run_difference.items()},
}
print(json.dumps({k: v for k, v in results.items() if k != "cluster_table"}, indent=2))
if os.environ.get("ILOTS_NOTEBOOK_RESULTS"):
    Path(os.environ["ILOTS_NOTEBOOK_RESULTS"]).write_text(json.dumps(results, indent=2))
