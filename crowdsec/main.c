/* main.c - nfsentry-crowdsec: the bridge between nfsentry and CrowdSec's Local API
 * (docs/crowdsec.md, man nfsentry-crowdsec(8)).
 *
 * Privilege separation: the daemon keeps its sandbox without IP sockets; this program, under
 * its own unprivileged user, speaks HTTP(S) to the LAPI and reaches the daemon only through
 * its control socket (`watch`, `bans`, `fleet`). One thread, one poll(2) loop: the watch
 * socket, a signalfd, and the timers of publish.c and apply.c. HTTP requests block the loop
 * for at most [lapi] timeout; the daemon does not wait for the watch meanwhile (it drops what
 * its bounded buffer cannot hold and says "lost", and the bridge reads `bans` again). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bridge.h"
#include "build-config.h"
#include "core/clock.h"
#include "core/log.h"

#define PROG "nfsentry-crowdsec"
#define CREDENTIAL_NAME "crowdsec.credentials" /* LoadCredential= of the unit */

/* The scenarios this machine declares at login: one per detector that can ban. */
static const char *const scenarios[] = { "nfsentry/scan", "nfsentry/distributed-scan", "nfsentry/root-sig",
					 "nfsentry/backscatter", "nfsentry/flood", "nfsentry/probe",
					 "nfsentry/ssh-sig", "nfsentry/ssh-len", "nfsentry/rlogin-sig",
					 "nfsentry/telnet-sig", "nfsentry/ftp-sig", "nfsentry/root-sig-weak",
					 "nfsentry/napster-sig", "nfsentry/gnutella-sig", "nfsentry/interactive",
					 "nfsentry/manual" };

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [-c FILE]            run in the foreground (systemd supervises)\n"
		   "       " PROG " [-c FILE] --check    validate the config and the credentials file\n"
		   "       " PROG " --version | --help\n"
		   "default FILE: " NFSENTRY_SYSCONFDIR "/crowdsec.conf\n");
}

static int signals_open(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* SIGHUP's default would end the bridge in a way systemd counts as clean (no restart). */
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* Loads what --check checks. Returns 0 or 1 (exit status), the reason printed. */
static int setup(struct bridge *b, const char *path)
{
	char err[1024];

	cs_config_defaults(&b->cfg);
	if (cs_config_load(&b->cfg, path, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	log_set_level(b->cfg.log_level);
	/* Under the unit, systemd reads the root-only file itself (LoadCredential=) and hands
	 * the bridge's user a copy only it may read: the file in /etc never needs its group. */
	const char *cd = getenv("CREDENTIALS_DIRECTORY");
	char cpath[CS_PATH_MAX];
	if (cd && *cd && snprintf(cpath, sizeof(cpath), "%s/" CREDENTIAL_NAME, cd) < (int)sizeof(cpath) &&
	    access(cpath, F_OK) == 0)
		memcpy(b->cfg.credentials, cpath, sizeof(cpath));
	if (cs_creds_load(&b->creds, b->cfg.credentials, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return 1;
	}
	if (b->cfg.publish && !*b->creds.machine_id) {
		log_err("%s: [publish] enabled needs [machine] id and password", b->cfg.credentials);
		return 1;
	}
	if (b->cfg.apply && !*b->creds.api_key) {
		log_err("%s: [apply] enabled needs [bouncer] api_key", b->cfg.credentials);
		return 1;
	}
	if (!b->cfg.publish && !b->cfg.apply) {
		log_err("%s: [publish] and [apply] are both off: nothing to do", path);
		return 1;
	}
	return 0;
}

static volatile sig_atomic_t stop;

static int run(struct bridge *b)
{
	char err[512];
	int r, sigfd = signals_open();

	if (sigfd < 0) {
		log_err("signalfd: %s", strerror(-sigfd));
		return 1;
	}
	if (mkdir(b->cfg.state_dir, 0700) < 0 && errno != EEXIST) {
		log_err("cannot create %s: %s", b->cfg.state_dir, strerror(errno));
		return 1;
	}
	if ((r = lapi_new(&b->lapi, &b->cfg, &b->creds, err, sizeof(err))) < 0) {
		log_err("%s", err);
		return 1;
	}
	lapi_set_scenarios(b->lapi, scenarios, sizeof(scenarios) / sizeof(scenarios[0]));
	if (b->cfg.publish && (r = publish_init(b)) < 0) {
		log_err("cannot start publishing: %s", strerror(-r));
		return 1;
	}
	if (b->cfg.apply && (r = apply_init(b)) < 0) {
		log_err("cannot start applying: %s", strerror(-r));
		return 1;
	}
	log_info(PROG " %s: LAPI %s, daemon %s, publish %s, apply %s (every %llus)", NFSENTRY_VERSION, b->cfg.url,
		 b->cfg.control_socket, b->cfg.publish ? "on" : "off", b->cfg.apply ? "on" : "off",
		 (unsigned long long)b->cfg.update_frequency);
	sd_notify(0, "READY=1");
	while (!stop) {
		int64_t now = clock_mono_ms(), wait = 60000, t;

		if (b->cfg.publish) {
			publish_connect(b, now);
			if (b->watch.fd < 0 && b->watch_retry.next_ms - now < wait)
				wait = b->watch_retry.next_ms - now;
		}
		if (b->cfg.apply && (t = apply_pull(b, now)) < wait)
			wait = t;
		now = clock_mono_ms();
		if (b->cfg.publish) {
			if ((t = publish_send(b, now)) >= 0 && t < wait)
				wait = t;
			publish_save(b, now, false);
			if ((b->pending.dirty || b->published.dirty) && wait > 1000)
				wait = 1000;
		}
		struct pollfd p[2] = { { .fd = sigfd, .events = POLLIN }, { .fd = b->watch.fd, .events = POLLIN } };
		if (wait < 0)
			wait = 0;
		int n = poll(p, b->cfg.publish && b->watch.fd >= 0 ? 2 : 1, (int)wait);
		if (n < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			break;
		}
		if (n > 0 && p[0].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				log_notice("SIGHUP: nothing is re-read while running; restart to apply a changed configuration");
				continue;
			}
			log_notice("signal %u: stopping", si.ssi_signo);
			stop = 1;
		}
		if (n > 0 && b->cfg.publish && b->watch.fd >= 0 && p[1].revents)
			publish_read(b, clock_mono_ms());
	}
	sd_notify(0, "STOPPING=1");
	if (b->cfg.publish)
		publish_save(b, clock_mono_ms(), true);
	close(sigfd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = { { "check", no_argument, NULL, 'k' }, { "version", no_argument, NULL, 'V' },
					      { "help", no_argument, NULL, 'h' }, { "config", required_argument, NULL, 'c' },
					      { 0 } };
	const char *path = NFSENTRY_SYSCONFDIR "/crowdsec.conf";
	bool check = false;
	struct bridge *b;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'k': check = true; break;
		case 'V': printf(PROG " %s\n", NFSENTRY_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return 1;
	b->watch.fd = -1;
	rc = setup(b, path);
	if (rc == 0 && check)
		printf("configuration OK\n");
	else if (rc == 0)
		rc = run(b);
	if (b->cfg.publish)
		publish_deinit(b);
	apply_deinit(b);
	lapi_free(b->lapi);
	cs_creds_wipe(&b->creds);
	free(b);
	return rc;
}
