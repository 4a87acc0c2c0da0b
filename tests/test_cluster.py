"""The workflow on a real SLURM scheduler, and its recovery from failures.

1. ``test_slurm_run_matches_local_run``: the test config run through SLURM with the CI profile
   (``workflow/profiles/slurm-ci``). Every row of ``results/tables/timings.tsv`` must carry the
   ``SLURM_JOB_ID`` of a job of this run, the scheduler must list every job of the run as
   COMPLETED, the fits must have been submitted in groups, and ``results/tables/scores.tsv`` must
   equal a local run's byte for byte (it holds no timing, host or job-id column: those are in
   ``timings.tsv``, whose fits, i.e. its join-key columns, must equal the local run's).
2. ``test_slurm_retries_after_scancel``: one running fit job is cancelled with ``scancel``; the
   run must still finish through ``retries``, with byte-identical scores.
3. ``test_local_run_resumes_after_kill_9``: a local run killed with SIGKILL mid-run, then
   ``--unlock`` and ``--rerun-incomplete``, gives the scores of an uninterrupted run byte for byte.

SLURM tests skip only when no ``sbatch`` is installed and ``NMFBENCH_SLURM`` is unset (or
``NMFBENCH_SLURM=0``). ``.ci/run`` starts a cluster with ``.ci/slurm.sh up`` and sets
``NMFBENCH_SLURM=1``: then a scheduler that does not work is a failure, not a skip.
The scheduler's job ids are printed (``SLURM job ids ...``), attached to the test report
(``record_property``) and written to ``slurm_job_ids.txt`` in each run's directory.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = next(
    (p for p in (REPO / "Snakefile", REPO / "workflow" / "Snakefile") if p.exists()),
    REPO / "Snakefile",
)
TEST_CONFIG = REPO / ".test" / "config.yaml"
PROFILES = REPO / "workflow" / "profiles"
SCORES = Path("results/tables/scores.tsv")
TIMINGS = Path("results/tables/timings.tsv")
# timings.tsv: the join key of scores.tsv, then the columns that legitimately differ between runs
FIT_KEY = ["dataset", "split", "structure", "noise", "rank", "seed"]
TIMING_COLUMNS = ["time_s", "iterate_s", "slurm_job_id", "host", "bench_s", "bench_max_rss"]
# a whole Snakemake run must end within this many seconds
RUN_TIMEOUT = int(os.environ.get("NMFBENCH_TEST_TIMEOUT", "1800"))
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: (\S+?)\)")
PROGRESS = re.compile(r"(\d+) of (\d+) steps")

# subprocesses: no profile sneaking in from the caller's environment
ENV = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_PROFILE"}
ENV["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{ENV.get('PATH', '')}"


# ------------------------------------------------------------------ helpers
class Run:
    """One Snakemake process in its own session, logging to ``<workdir>/<name>.log``."""

    def __init__(self, workdir: Path, name: str, *args: str):
        self.workdir, self.name = workdir, name
        self.log = workdir / f"{name}.log"
        workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
               "--configfile", str(TEST_CONFIG), *args]
        self.log.write_text("$ " + " ".join(cmd) + "\n")
        with open(self.log, "a") as fh:
            self.proc = subprocess.Popen(cmd, cwd=workdir, env=ENV, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.started = time.monotonic()

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-n:])

    def wait(self, poll=None, timeout: float = RUN_TIMEOUT) -> int:
        """Wait for the end, calling ``poll(self)`` about every second meanwhile."""
        while self.proc.poll() is None:
            if poll is not None:
                poll(self)
            if time.monotonic() - self.started > timeout:
                # SIGINT, not TERM: Snakemake then scancels its jobs; TERM waits for them
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(120)
                except subprocess.TimeoutExpired:
                    self.kill_session()
                pytest.fail(f"{self.name}: Snakemake still running after {timeout}s\n{self.tail()}")
            time.sleep(1)
        if poll is not None:
            poll(self)
        self.seconds = time.monotonic() - self.started
        return self.proc.returncode

    def check(self, poll=None) -> "Run":
        rc = self.wait(poll)
        assert rc == 0, f"{self.name}: Snakemake exited {rc} (log {self.log})\n{self.tail()}"
        return self

    def kill_session(self) -> None:
        """SIGKILL every process of this run's session (only processes this test started)."""
        sid = self.proc.pid
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:  # field 6 of /proc/<pid>/stat: session id
                try:
                    os.kill(int(stat.parent.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc.wait()


def incomplete_markers(workdir: Path) -> int:
    """How many outputs Snakemake has marked as being written (jobs started, not finished)."""
    marks = workdir / ".snakemake" / "incomplete"
    return sum(1 for p in marks.rglob("*") if p.is_file() and p.name != "migration_underway")


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text().splitlines()
    assert lines, f"{path} is empty"
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def fit_keys_text(path: Path) -> str:
    """timings.tsv reduced to its join-key columns (which fits, in which order), byte for byte."""
    header, rows = read_table(path)
    assert header[: len(FIT_KEY)] == FIT_KEY and header[len(FIT_KEY):] == TIMING_COLUMNS, header
    return "\n".join("\t".join(r[: len(FIT_KEY)]) for r in [header, *rows]) + "\n"


def assert_same_scores(got: Path, expected: Path, what: str) -> None:
    """scores.tsv byte for byte, every column; timings.tsv beside it lists the same fits."""
    header, _ = read_table(got)
    volatile = sorted(set(header) & set(TIMING_COLUMNS))
    assert not volatile, f"{what}: run-dependent columns in {got}: {volatile}"
    a, b = got.read_bytes(), expected.read_bytes()
    if a != b:
        import difflib

        diff = "".join(difflib.unified_diff(b.decode().splitlines(True), a.decode().splitlines(True),
                                            str(expected), str(got), n=1))
        pytest.fail(f"{what}: scores.tsv differs from the uninterrupted local run's:\n{diff[:6000]}")
    got_t, expected_t = got.parent / TIMINGS.name, expected.parent / TIMINGS.name
    assert fit_keys_text(got_t) == fit_keys_text(expected_t), f"{what}: timings.tsv lists other fits"


def squeue_states(run_uuid: str) -> dict[str, str]:
    """job id -> state of the jobs named ``run_uuid`` (the plugin names every job by the run id)."""
    out = subprocess.run(["squeue", "--states=all", "-h", "--name", run_uuid, "-o", "%i|%T"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"squeue failed: {out.stderr}"
    return dict(line.split("|", 1) for line in out.stdout.split())


def run_uuid_of(run: Run) -> str | None:
    m = re.search(r"SLURM run ID: (\S+)", run.text())
    return m.group(1) if m else None


class JobTracker:
    """Poll callback: records the state of every SLURM job of the run while it runs (jobs drop out
    of squeue MinJobAge=300 s after they end, a long run would otherwise lose the early ones)."""

    def __init__(self):
        self.states: dict[str, str] = {}

    def __call__(self, run: Run) -> None:
        uuid = run_uuid_of(run)
        if uuid:
            self.states.update(squeue_states(uuid))


def report_job_ids(record_property, capsys, workdir: Path, label: str, text: str) -> None:
    """Make the scheduler's job ids visible: stdout (even under capture), the report, a file."""
    line = f"SLURM job ids ({label}): {text}"
    (workdir / "slurm_job_ids.txt").write_text(line + "\n")
    record_property(f"slurm_job_ids_{label}", text)
    with capsys.disabled():
        print(f"\n{line}", flush=True)


def log_kind(log: str) -> str:
    """rule_<name> or group_<group>_<rules>: the plugin's log folder below .snakemake/slurm_logs/"""
    return log.split("slurm_logs/", 1)[-1].split("/", 1)[0]


def is_fit_job(kind: str) -> bool:
    """A submission that fits: a fit rule (one per block of the grid) or a group of them."""
    return kind.startswith(("rule_fit_", "group_fits"))


def slurm_job_summary(run: Run, tracker: JobTracker) -> tuple[dict[str, str], str]:
    """(job id -> submission log path, one-line summary of ids and states) for a finished run."""
    submitted = dict(SUBMITTED.findall(run.text()))
    summary = ", ".join(
        f"{jid}={tracker.states.get(jid, '?')}[{log_kind(log)}]" for jid, log in submitted.items()
    )
    return submitted, f"run {run_uuid_of(run)}: {summary}"


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def slurm():
    """A working SLURM scheduler with the CI partition, or a skip/failure as the module doc says."""
    flag = os.environ.get("NMFBENCH_SLURM", "")
    if flag == "0":
        pytest.skip("NMFBENCH_SLURM=0: SLURM tests switched off")
    if shutil.which("sbatch") is None:
        if flag == "1":
            pytest.fail("NMFBENCH_SLURM=1 but `sbatch` is not on PATH (did `.ci/slurm.sh up` run?)")
        pytest.skip("no SLURM here (`sbatch` not on PATH); CI starts one with `.ci/slurm.sh up`")
    why = "set NMFBENCH_SLURM=0 to skip on purpose"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
        assert ping.returncode == 0 and "UP" in ping.stdout, f"`scontrol ping`: {ping.stdout}{ping.stderr}"
        srun = subprocess.run(["srun", "-p", "debug", "-N1", "-n1", "-t", "1", "hostname"],
                              capture_output=True, text=True, timeout=120)
        assert srun.returncode == 0, f"`srun -p debug hostname` failed: {srun.stderr}"
    except (AssertionError, subprocess.TimeoutExpired) as e:
        pytest.fail(f"`sbatch` exists but SLURM does not work ({e}); {why}")


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory) -> Path:
    """scores.tsv of an uninterrupted local run of the test config."""
    workdir = tmp_path_factory.mktemp("local")
    Run(workdir, "local", "--cores", "2").check()
    assert (workdir / SCORES).exists(), f"local run wrote no {SCORES}"
    return workdir / SCORES


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm")
    tracker = JobTracker()
    run = Run(workdir, "slurm", "--profile", str(PROFILES / "slurm-ci")).check(poll=tracker)
    return run, tracker


# ------------------------------------------------------------------ tests
def test_ci_profile_mirrors_slurm_profile():
    """slurm-ci differs from the real-cluster profile only in values (and the documented extras)."""
    import yte

    with open(PROFILES / "slurm" / "config.yaml") as fh:
        real = yte.process_yaml(fh, require_use_yte=True)
    ci = yaml.safe_load((PROFILES / "slurm-ci" / "config.yaml").read_text())
    ci_only = {"slurm-init-seconds-before-status-checks", "slurm-keep-successful-logs"}
    assert set(ci) - ci_only == set(real)
    assert set(ci["set-resources"]) == set(real["set-resources"])
    # the fit rules declare their group (`fits`) themselves; the profiles only size it
    assert "groups" not in ci and "groups" not in real
    assert set(ci["group-components"]) == set(real["group-components"])
    assert ci["executor"] == real["executor"] == "slurm"
    assert ci["slurm-status-command"] == "squeue"  # the CI cluster has no accounting DB


@pytest.mark.slurm
@pytest.mark.slow
@pytest.mark.workflow
def test_slurm_run_matches_local_run(slurm_run, local_reference, record_property, capsys):
    run, tracker = slurm_run
    workdir = run.workdir
    submitted, summary = slurm_job_summary(run, tracker)
    report_job_ids(record_property, capsys, workdir, "run", f"{summary} ({run.seconds:.0f} s)")
    assert submitted, f"no job was submitted to SLURM:\n{run.tail()}"

    # the scheduler saw every job of this run, and every one of them completed
    assert set(submitted) <= set(tracker.states), f"jobs unknown to squeue: {summary}"
    failed = {j: s for j, s in tracker.states.items() if s != "COMPLETED"}
    assert not failed, f"SLURM jobs not COMPLETED: {failed}; {summary}"
    # the fits went through SLURM in groups, not one submission per fit
    groups = [j for j, log in submitted.items() if log_kind(log).startswith("group_fits")]
    assert groups, f"no grouped fit submission: {summary}"

    # every fit was computed inside a SLURM job of THIS run (timings.tsv records the job of each fit)
    header, rows = read_table(workdir / TIMINGS)
    assert "slurm_job_id" in header, f"{TIMINGS} has no slurm_job_id column: {header}"
    col = header.index("slurm_job_id")
    ids = {r[col] for r in rows}
    assert ids and ids <= set(submitted), f"rows' slurm_job_id {sorted(ids)} not jobs of this run; {summary}"

    assert_same_scores(workdir / SCORES, local_reference, "SLURM run")


@pytest.mark.slurm
@pytest.mark.slow
@pytest.mark.workflow
def test_slurm_retries_after_scancel(slurm, local_reference, tmp_path, record_property, capsys):
    tracker = JobTracker()
    cancelled: dict[str, str] = {}

    def cancel_one_fit(run: Run) -> None:
        tracker(run)
        if cancelled:
            return
        fits = [j for j, log in SUBMITTED.findall(run.text()) if is_fit_job(log_kind(log))]
        running = [j for j in fits if tracker.states.get(j) == "RUNNING"]
        if running:
            time.sleep(2)  # let it get properly under way
            out = subprocess.run(["scancel", running[0]], capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, f"scancel {running[0]} failed: {out.stderr}"
            cancelled[running[0]] = f"cancelled after {time.monotonic() - run.started:.0f} s"

    run = Run(tmp_path, "slurm-scancel", "--profile", str(PROFILES / "slurm-ci"))
    rc = run.wait(poll=cancel_one_fit)
    submitted, summary = slurm_job_summary(run, tracker)
    summary += f"; scancel: {cancelled}"
    report_job_ids(record_property, capsys, tmp_path, "scancel", f"{summary} ({run.seconds:.0f} s)")

    assert cancelled, f"no fit job was seen RUNNING, nothing cancelled; {summary}\n{run.tail()}"
    assert rc == 0, f"run did not survive the scancel (rc={rc}); {summary}\n{run.tail()}"
    (job,) = cancelled
    assert tracker.states.get(job) == "CANCELLED", f"job {job} not CANCELLED; {summary}"
    assert "Trying to restart job" in run.text(), f"no retry in the log; {summary}"
    resubmitted = [j for j, log in submitted.items() if int(j) > int(job) and is_fit_job(log_kind(log))]
    assert resubmitted, f"cancelled fit job {job} was never resubmitted; {summary}"
    assert_same_scores(tmp_path / SCORES, local_reference, "SLURM run with scancel")


@pytest.mark.slow
@pytest.mark.workflow
def test_local_run_resumes_after_kill_9(local_reference, tmp_path, record_property, capsys):
    killed: list[str] = []

    def kill_mid_run(run: Run) -> None:
        steps = PROGRESS.findall(run.text())
        if killed or not steps:
            return
        done, total = map(int, steps[-1])
        # a third of the jobs done (into the fits), more than the final target left, and jobs
        # running right now (Snakemake marks the outputs of running jobs in .snakemake/incomplete/)
        if max(1, total // 3) <= done < total - 1 and incomplete_markers(run.workdir):
            os.kill(run.proc.pid, signal.SIGKILL)  # the Snakemake process itself ...
            run.kill_session()  # ... and the jobs it had running: nothing may finish after it
            marked = incomplete_markers(run.workdir)
            killed.append(f"SIGKILL at {done} of {total} steps with {marked} outputs incomplete")

    run = Run(tmp_path, "killed", "--cores", "2")
    rc = run.wait(poll=kill_mid_run)
    assert killed, f"the run ended (rc={rc}) before it could be killed mid-run:\n{run.tail()}"
    assert rc == -signal.SIGKILL
    assert not (tmp_path / SCORES).exists(), f"{SCORES} exists although the run was killed ({killed})"

    assert incomplete_markers(tmp_path), "the kill left no incomplete outputs behind"
    Run(tmp_path, "unlock", "--unlock").check()
    resumed = Run(tmp_path, "resumed", "--cores", "2", "--rerun-incomplete").check()
    redone = PROGRESS.findall(resumed.text())
    note = f"{killed[0]}; resumed run: {redone[-1][1] if redone else 0} steps left"
    record_property("kill_9", note)
    with capsys.disabled():
        print(f"\nkill -9: {note}", flush=True)
    assert_same_scores(tmp_path / SCORES, local_reference, f"resumed run ({killed[0]})")
