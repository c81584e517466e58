"""How to start each headless browser: the only browser-specific code of the browser peer.

Both browsers get a fresh profile directory per start (no state leaks between runs),
real host ICE candidates instead of mDNS `.local` names (the other peer cannot resolve
those on the cell network), media autoplay without a user gesture (the page plays the
echoed tracks and drives a WebAudio graph without anyone clicking), and no background
networking (there is no route out of the cell network; a browser trying to phone home
only adds noise and delay).
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROFILE_TEMPLATE = HERE / "profile-template"  # made at build time by make_profile.py
EXTRA_FLAGS = os.environ.get("PEER_BROWSER_FLAGS", "").split()  # experiments only


@dataclass(frozen=True)
class Sidecar:
    """A helper process the browser needs, started before it and killed with it."""

    name: str
    command: list[str]
    ready_path: Path  # exists once the sidecar serves


@dataclass(frozen=True)
class Browser:
    name: str  # what the logs call it
    binary: str
    package: str  # the Debian package it comes from (for versions.json)
    env: dict[str, str] = field(default_factory=dict)
    sidecar_packages: tuple[str, ...] = ()  # Debian packages of the sidecars (versions.json)
    keylog: bool = False  # writes WebRTC's DTLS secrets to $SSLKEYLOGFILE (keylog.py)

    def command(self, url: str, profile: Path) -> list[str]:
        raise NotImplementedError

    def warm_up_command(self, profile: Path) -> list[str]:
        """A run that fills a profile and exits by itself (make_profile.py, build time)."""
        raise NotImplementedError

    def prepare_profile(self, profile: Path) -> None:
        """Create the profile directory (it does not exist yet) before the browser starts:
        a copy of the template made at build time if there is one (a first start in an
        empty profile spends seconds creating databases and caches), else empty."""
        if PROFILE_TEMPLATE.is_dir():
            shutil.copytree(PROFILE_TEMPLATE, profile, symlinks=True)
        else:
            profile.mkdir()

    def nss_db(self, profile: Path, home: Path) -> Path:
        """The NSS database whose trust this browser's TURN-over-TLS connections use."""
        raise NotImplementedError

    def trust_ca(self, pem: str, profile: Path, home: Path, scratch: Path) -> str:
        """Trust every certificate of the PEM text as a CA (ICE_CA_PEM: the TURN server's
        TLS issuer) in the browser's NSS database, with Debian's certutil. Returns what
        was done, for the log; raises RuntimeError if certutil fails."""
        certificates = re.findall(
            r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S
        )
        if not certificates:
            raise RuntimeError("ICE_CA_PEM holds no PEM certificate")
        db = self.nss_db(profile, home)
        db.mkdir(parents=True, exist_ok=True)
        certutil = ["certutil", "-d", f"sql:{db}"]
        try:
            if not (db / "cert9.db").exists():
                subprocess.run(
                    [*certutil, "-N", "--empty-password"],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
            for index, certificate in enumerate(certificates):
                path = scratch / f"ice-ca-{index}.pem"
                path.write_text(certificate + "\n")
                subprocess.run(
                    [
                        *certutil,
                        "-A",
                        "-n",
                        f"interop-ice-ca-{index}",
                        "-t",
                        "C,,",
                        "-i",
                        str(path),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
            listed = subprocess.run(
                [*certutil, "-L"], check=True, capture_output=True, text=True, timeout=30
            ).stdout
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", "") or ""
            raise RuntimeError(f"certutil failed: {error} {detail.strip()}") from error
        names = [
            line.split()[0] for line in listed.splitlines() if line.startswith("interop-ice-ca")
        ]
        return f"{len(certificates)} CA certificate(s) trusted in {db}: {', '.join(names)}"

    def sidecars(self, root: Path) -> list[Sidecar]:
        """Helper processes to start first (root: this start's private temp directory)."""
        return []

    def sidecar_env(self, root: Path) -> dict[str, str]:
        """What the browser's environment needs to find its sidecars."""
        return {}


class Chromium(Browser):
    def command(self, url: str, profile: Path) -> list[str]:
        return [
            self.binary,
            # Known to work as root in a container (see /work/shared/notes/build-facts.md).
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            f"--user-data-dir={profile}",
            # Real host candidates: without this Chromium hides them behind mDNS names.
            "--disable-features=WebRtcHideLocalIpsWithMdns,Translate,MediaRouter,"
            "OptimizationHints,DialMediaRouteProvider",
            # The page plays echoed media and runs WebAudio without a user gesture.
            "--autoplay-policy=no-user-gesture-required",
            # No permission prompt or real device if anything ever asks for one.
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            # A headless page must not be throttled like a background tab: the canvas
            # animation and the stats polling run on timers.
            "--disable-background-timer-throttling",
            "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows",
            "--password-store=basic",
            "--use-mock-keychain",
            # Even with the flags above, Chromium 156 looks up accounts.google.com,
            # update.googleapis.com and clients2.google.com (~50 DNS queries per cell,
            # seen in captures); these names fail at once instead. No test uses them.
            "--host-resolver-rules=MAP *.google.com ~NOTFOUND, MAP *.googleapis.com ~NOTFOUND",
            *EXTRA_FLAGS,
            url,
        ]

    def nss_db(self, profile: Path, home: Path) -> Path:
        # Chromium on Linux reads user-added trust anchors from the NSS database in
        # $HOME/.pki/nssdb; its TURN-over-TLS sockets are verified by the network
        # service's certificate verifier, like HTTPS (see images/chromium/README.md).
        return home / ".pki" / "nssdb"


class Firefox(Browser):
    def command(self, url: str, profile: Path) -> list[str]:
        return [*self._headless(profile), *EXTRA_FLAGS, url]

    def warm_up_command(self, profile: Path) -> list[str]:
        # --screenshot loads the page, saves a picture and quits cleanly.
        picture = str(profile.parent / "warm-up.png")
        return [*self._headless(profile), "--screenshot", picture, "about:blank"]

    def _headless(self, profile: Path) -> list[str]:
        return [self.binary, "--headless", "--no-remote", "--profile", str(profile)]

    def prepare_profile(self, profile: Path) -> None:
        # Every preference the peer needs is in firefox-user.js, documented there.
        super().prepare_profile(profile)
        shutil.copy(HERE / "firefox-user.js", profile / "user.js")

    def nss_db(self, profile: Path, home: Path) -> Path:
        # Firefox keeps its certificate trust in the profile (cert9.db); its WebRTC
        # TURN-over-TLS connections are verified against it like any TLS connection.
        return profile

    def sidecars(self, root: Path) -> list[Sidecar]:
        # Firefox's WebAudio needs a real audio output stream: with no sound server its
        # AudioContext never leaves "suspended" (the graph stays on its fallback clock
        # driver), so the client's tone would never flow. A private PulseAudio daemon with
        # a null sink (paced by its own clock, output discarded) is that output.
        socket = root / "pulse.sock"
        return [
            Sidecar(
                "pulseaudio",
                [
                    "pulseaudio",
                    "--daemonize=no",
                    "-n",
                    "--use-pid-file=no",
                    "--exit-idle-time=-1",
                    "--log-target=stderr",
                    "--load=module-null-sink sink_name=null rate=48000",
                    f"--load=module-native-protocol-unix auth-anonymous=1 socket={socket}",
                ],
                socket,
            )
        ]

    def sidecar_env(self, root: Path) -> dict[str, str]:
        return {"PULSE_SERVER": f"unix:{root / 'pulse.sock'}"}


BROWSERS: dict[str, Browser] = {
    "chromium": Chromium("chromium", "chromium", "chromium"),
    "firefox": Firefox(
        "firefox",
        "firefox-esr",
        "firefox-esr",
        env={
            "MOZ_HEADLESS": "1",
            "MOZ_CRASHREPORTER_DISABLE": "1",  # no crash reporter dialog or upload
            "MOZ_DISABLE_AUTO_SAFE_MODE": "1",  # never start in safe mode after a kill
        },
        sidecar_packages=("pulseaudio",),
        keylog=True,  # NSS honours SSLKEYLOGFILE for WebRTC's DTLS too (README.md)
    ),
}


def current() -> Browser:
    """The browser this image was built for (ENV BROWSER in its Dockerfile)."""
    name = os.environ.get("BROWSER", "chromium")
    if name not in BROWSERS:
        raise SystemExit(f"unknown BROWSER={name!r} (known: {', '.join(BROWSERS)})")
    return BROWSERS[name]
