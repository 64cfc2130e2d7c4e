"""Restore targets on a freshly made ext4 filesystem, one per participant.

Creating files costs the kernel very different amounts depending on what the filesystem went
through: ext4 without a journal (this machine's root filesystem) skips recently deleted inodes
one by one while allocating, so a restore next to a tree deleted minutes earlier can take half
again as long, and which tool pays depends on the order of the run. Every participant of the
restore scenario (the `cp -a` floor included) therefore restores onto its own new filesystem:
an image file in WORKDIR/scratch (the same disk), formatted with mkfs.ext4's defaults (journal
on, inode tables initialized up front so no background zeroing runs during the measurement),
attached to a loop device with direct I/O (no second copy in the page cache) and mounted.
Needs root, mkfs.ext4, losetup and mount; otherwise restores go to WORKDIR/scratch itself.
Before each participant, `settle_memory` drops the page cache (see there).
"""
import os
import shutil
import time
from pathlib import Path

from .measure import run_quiet


def settle_memory(settle_s: float = 4.0) -> None:
    """Syncs, drops the page cache and waits a moment, so that every participant writes its
    files into memory left in the same state.

    On this VM (Firecracker, free page reporting on the kernel command line) the kernel time
    for writing the 2 GiB tree into the page cache depends on what ran before: `cp -a` took
    5.5-9 s in runs without this step and 1.48 / 1.58 / 1.73 s in three runs with it, and the
    tool that ran first after a large clean-up was favoured. With it, the order of the
    participants no longer decides who gets the cheap memory.
    """
    run_quiet(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")
    time.sleep(settle_s)


def available() -> str | None:
    """None when fresh filesystems can be made here, else why not."""
    if os.geteuid() != 0:
        return "not root"
    missing = [t for t in ("mkfs.ext4", "losetup", "mount", "umount") if shutil.which(t) is None]
    return f"missing {', '.join(missing)}" if missing else None


class FreshFilesystem:
    """An ext4 filesystem in `image`, mounted at `mountpoint` between `make()` and `remove()`."""

    def __init__(self, image: Path, mountpoint: Path):
        self.image = image
        self.mountpoint = mountpoint
        self.device: str | None = None

    def make(self, size_bytes: int) -> "FreshFilesystem":
        """Formats a new sparse image of `size_bytes` and mounts it (replacing any leftover)."""
        self.remove()
        self.image.parent.mkdir(parents=True, exist_ok=True)
        with open(self.image, "wb") as f:
            f.truncate(size_bytes)
        self._check(run_quiet(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", self.image]), "mkfs.ext4")
        attached = run_quiet(["losetup", "--find", "--show", "--direct-io=on", self.image])
        self._check(attached, "losetup")
        self.device = attached.stdout.strip()
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        self._check(run_quiet(["mount", self.device, self.mountpoint]), "mount")
        return self

    @staticmethod
    def _check(result, what):
        if result.returncode != 0:
            raise RuntimeError(f"{what} failed: {result.stderr.strip() or result.stdout.strip()}")

    def remove(self) -> None:
        """Unmounts, detaches and deletes the image (idempotent)."""
        if self.mountpoint.is_mount():
            run_quiet(["umount", self.mountpoint])
        if self.device:
            run_quiet(["losetup", "--detach", self.device])
            self.device = None
        else:
            # A previous run's leftover: detach whatever loop device still holds the image.
            listed = run_quiet(["losetup", "--associated", self.image]) if self.image.exists() else None
            for line in (listed.stdout.splitlines() if listed and listed.returncode == 0 else []):
                run_quiet(["losetup", "--detach", line.split(":")[0]])
        if self.mountpoint.exists() and not self.mountpoint.is_mount():
            shutil.rmtree(self.mountpoint, ignore_errors=True)
        self.image.unlink(missing_ok=True)
