// Preferences for headless Firefox ESR as an automated WebRTC peer.
// Copied into a fresh profile directory at every start (browsers.py).

// --- WebRTC ---------------------------------------------------------------
// Real host candidates: by default Firefox replaces them with mDNS .local names,
// which the other peer cannot resolve on the cell network.
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
// Gather on every interface, not only the one holding the default route (the
// cell network is `internal`: it may have no default route at all).
user_pref("media.peerconnection.ice.default_address_only", false);
user_pref("media.peerconnection.ice.no_host", false);
user_pref("media.peerconnection.ice.proxy_only", false);
// No permission prompts (nothing asks for devices, but never block on a prompt).
user_pref("media.navigator.permission.disabled", true);
// The page plays the echoed tracks and runs a WebAudio graph without a user gesture.
user_pref("media.autoplay.default", 0);
user_pref("media.autoplay.blocking_policy", 0);
user_pref("media.autoplay.block-webaudio", false);
user_pref("media.autoplay.enabled.user-gestures-needed", false);
// OpenH264 is a download; the tests use VP8/Opus, which are built in.
user_pref("media.gmp-manager.updateEnabled", false);
user_pref("media.gmp-manager.url", "data:text/plain,");
user_pref("media.gmp-gmpopenh264.autoupdate", false);
user_pref("media.gmp-widevinecdm.enabled", false);
user_pref("media.eme.enabled", false);

// --- Timers in a headless, never-focused window ----------------------------
user_pref("dom.min_background_timeout_value", 4);
user_pref("dom.timeout.enable_budget_timer_throttling", false);
user_pref("dom.max_script_run_time", 0);
user_pref("hangmonitor.timeout", 0);

// --- No background networking (there is no route out of the cell network) --
// Updates
user_pref("app.update.auto", false);
user_pref("app.update.enabled", false);
user_pref("app.update.checkInstallTime", false);
user_pref("app.update.disabledForTesting", true);
user_pref("app.update.staging.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.update.autoUpdateDefault", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.systemAddon.update.enabled", false);
user_pref("extensions.systemAddon.update.url", "");
user_pref("extensions.blocklist.enabled", false);
user_pref("browser.search.update", false);
user_pref("browser.search.geoip.url", "");
user_pref("browser.region.network.url", "");
user_pref("browser.region.update.enabled", false);
// Telemetry and health reports
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.archive.enabled", false);
user_pref("toolkit.telemetry.server", "data:,");
user_pref("toolkit.telemetry.newProfilePing.enabled", false);
user_pref("toolkit.telemetry.shutdownPingSender.enabled", false);
user_pref("toolkit.telemetry.firstShutdownPing.enabled", false);
user_pref("toolkit.telemetry.updatePing.enabled", false);
user_pref("toolkit.telemetry.bhrPing.enabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.policy.dataSubmissionPolicyBypassNotification", true);
user_pref("datareporting.usage.uploadEnabled", false);
user_pref("browser.ping-centre.telemetry", false);
user_pref("browser.newtabpage.activity-stream.telemetry", false);
user_pref("browser.newtabpage.activity-stream.feeds.telemetry", false);
user_pref("browser.crashReports.unsubmittedCheck.enabled", false);
user_pref("browser.tabs.crashReporting.sendReport", false);
user_pref("breakpad.reportURL", "");
// Safe Browsing list downloads
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.downloads.remote.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("browser.safebrowsing.provider.google.updateURL", "");
user_pref("browser.safebrowsing.provider.google4.updateURL", "");
user_pref("browser.safebrowsing.provider.mozilla.updateURL", "");
user_pref("browser.safebrowsing.update.enabled", false);
// Captive portal and connectivity checks
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.notify.checkForProxies", false);
// Normandy / Shield studies, remote settings, experiments
user_pref("app.normandy.enabled", false);
user_pref("app.normandy.api_url", "");
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("messaging-system.rsexperimentloader.enabled", false);
user_pref("nimbus.enabled", false);
user_pref("services.settings.server", "data:,#remote-settings-dummy/v1");
// Firefox 153 still looks up firefox.settings.services.mozilla.com (4-5 DNS queries per
// cell, seen in captures) despite the pref above: these names now resolve to localhost,
// where nothing listens, so nothing about them reaches the cell network.
user_pref("network.dns.localDomains", "firefox.settings.services.mozilla.com,content-signature-2.cdn.mozilla.net,push.services.mozilla.com,incoming.telemetry.mozilla.org,aus5.mozilla.org,detectportal.firefox.com");
user_pref("services.sync.enabled", false);
user_pref("identity.fxaccounts.enabled", false);
// Speculative connections, prefetching, DNS over HTTPS, geolocation, push
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.predictor.enabled", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("browser.urlbar.speculativeConnect.enabled", false);
user_pref("network.trr.mode", 5);
user_pref("geo.provider.network.url", "");
user_pref("geo.enabled", false);
user_pref("dom.push.enabled", false);
user_pref("dom.push.connection.enabled", false);
user_pref("security.OCSP.enabled", 0);
user_pref("security.remote_settings.crlite_filters.enabled", false);
user_pref("security.remote_settings.intermediates.enabled", false);
// New tab page and start-up pages that fetch content
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.newtabpage.activity-stream.feeds.section.topstories", false);
user_pref("browser.newtabpage.activity-stream.feeds.topsites", false);
user_pref("browser.newtabpage.activity-stream.default.sites", "");
user_pref("browser.topsites.contile.enabled", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("browser.startup.firstrunSkipsHomepage", true);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("datareporting.policy.firstRunURL", "");
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.discovery.enabled", false);
user_pref("extensions.pocket.enabled", false);

// --- A fresh profile every start: no session restore, no safe mode ----------
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("browser.sessionstore.max_resumed_crashes", -1);
user_pref("toolkit.startup.max_resumed_crashes", -1);
user_pref("browser.warnOnQuit", false);
user_pref("browser.tabs.warnOnClose", false);
