"""A real single-node SLURM on localhost for tests: munge + slurmctld + slurmd with one fake GPU.

State and logs live in a temporary folder. The configuration goes to /etc/slurm (job steps started
inside a job, like Snakemake's ``srun``, read it only from there); files that were there before are
put back on :meth:`LocalSlurm.stop`, which also stops exactly the daemons it started (by PID). Needs root and Debian's ``slurmctld slurmd slurm-client
munge`` packages (see ``.ci/run``).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "munged")


def available() -> str | None:
    """None if a local SLURM can be started here, else the reason it cannot."""
    missing = [d for d in ("slurmctld", "slurmd", "sbatch", "squeue", "munged") if not (shutil.which(d) or Path(f"/usr/sbin/{d}").exists())]
    if missing:
        return f"SLURM not installed (missing {', '.join(missing)}; apt-get install slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "starting slurmd needs root"
    return None


def _conf(state: Path, host: str, cpus: int, mem_mb: int) -> str:
    return f"""\
ClusterName=usvflowtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=600
ReturnToService=2
GresTypes=gpu
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/d
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
SchedulerType=sched/backfill
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} Sockets=1 CoresPerSocket={cpus} ThreadsPerCore=1 RealMemory={mem_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


class LocalSlurm:
    """Start with :meth:`start`, stop with :meth:`stop`; ``env`` carries SLURM_CONF for clients."""

    def __init__(self, workdir: Path, cpus: int | None = None, mem_mb: int = 8000):
        self.dir = Path(workdir)
        self.host = socket.gethostname()
        self.cpus = cpus or os.cpu_count() or 2
        self.mem_mb = mem_mb
        self.procs: dict[str, subprocess.Popen] = {}
        self.etc = Path("/etc/slurm")
        self.env = dict(os.environ, SLURM_CONF=str(self.etc / "slurm.conf"))
        self._saved: dict[Path, bytes | None] = {}

    def _install(self, name: str, text: str) -> None:
        path = self.etc / name
        self._saved.setdefault(path, path.read_bytes() if path.exists() else None)
        path.write_text(text)

    def start(self, timeout_s: float = 60.0) -> None:
        for sub in ("ctld", "d"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.etc.mkdir(parents=True, exist_ok=True)
        self._install("slurm.conf", _conf(self.dir, self.host, self.cpus, self.mem_mb))
        self._install("gres.conf", "Name=gpu File=/dev/null Count=1\n")  # a fake GPU
        self._install("cgroup.conf", "CgroupPlugin=cgroup/v1\n")
        munge_run = Path("/run/munge")
        munge_run.mkdir(parents=True, exist_ok=True)
        shutil.chown(munge_run, "munge", "munge")
        if not self._munge_running():
            self.procs["munged"] = subprocess.Popen(
                ["runuser", "-u", "munge", "--", "/usr/sbin/munged", "--foreground"],
                stdout=subprocess.DEVNULL, stderr=open(self.dir / "munged.log", "w"))
            self._wait(self._munge_running, timeout_s, "munged")
        self.procs["slurmctld"] = subprocess.Popen(["/usr/sbin/slurmctld", "-D", "-i"], env=self.env,
                                                   stdout=subprocess.DEVNULL, stderr=open(self.dir / "ctld.err", "w"))
        self._wait(lambda: self._run(["scontrol", "ping"]).returncode == 0 and "UP" in self._run(["scontrol", "ping"]).stdout,
                   timeout_s, "slurmctld")
        self.procs["slurmd"] = subprocess.Popen(["/usr/sbin/slurmd", "-D"], env=self.env,
                                                stdout=subprocess.DEVNULL, stderr=open(self.dir / "d.err", "w"))
        self._wait(lambda: self._node_state() not in ("", "unknown", "down*", "unk*"), timeout_s, "slurmd")
        self._run(["scontrol", "update", f"nodename={self.host}", "state=resume"])
        self._wait(lambda: self._node_state() in ("idle", "mixed", "allocated"), timeout_s, "node to become idle")

    def _munge_running(self) -> bool:
        return subprocess.run(["munge", "-n"], capture_output=True).returncode == 0

    def _node_state(self) -> str:
        out = self._run(["sinfo", "-h", "-N", "-o", "%t"]).stdout.strip().lower()
        return out.splitlines()[0] if out else ""

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True)

    def _wait(self, ok, timeout_s: float, what: str) -> None:
        end = time.time() + timeout_s
        while time.time() < end:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see logs in {self.dir}")
            if ok():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting for {what}; logs in {self.dir}")

    def stop(self) -> None:
        """Stop the daemons this object started, newest first, by PID."""
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        for path, old in self._saved.items():
            if old is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(old)
        self._saved.clear()
