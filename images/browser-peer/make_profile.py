"""Make the profile template at image build time: one warm-up run of the browser.

A browser's first start in an empty profile creates its databases, caches and
bookkeeping files before it shows anything; the wrapper copies this template into
every fresh profile instead (browsers.py, prepare_profile), which cuts that work out of
each cell's start-up. The template holds no state of any test: it is made before any.

Usage: make_profile.py <browser>
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import browsers

# Files that tie a profile to a running instance, or record this run only.
TRANSIENT = (
    "lock",
    ".parentlock",
    "SingletonLock",
    "SingletonCookie",
    "SingletonSocket",
    "sessionstore-backups",
    "crashes",
    "minidumps",
    "Crash Reports",
    "warm-up.png",
)


def main() -> None:
    browser = browsers.BROWSERS[sys.argv[1]]
    target = browsers.PROFILE_TEMPLATE
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        profile = Path(scratch) / "profile"
        browser.prepare_profile(profile)  # no template yet: an empty profile (+ user.js)
        env = {**os.environ, **browser.env, "HOME": scratch}
        started = time.monotonic()
        run = subprocess.run(
            browser.warm_up_command(profile),
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if run.returncode != 0:
            sys.exit(
                f"warm-up run failed ({run.returncode}): {run.stdout[-2000:]} {run.stderr[-2000:]}"
            )
        for name in TRANSIENT:
            path = profile / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
        shutil.copytree(profile, target, symlinks=True)
    size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    print(
        f"{browser.name}: profile template in {target} ({size / 1e6:.1f} MB), "
        f"warm-up run {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
