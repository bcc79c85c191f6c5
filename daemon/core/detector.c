/* detector.c - see detector.h. */
#include "core/detector.h"

#include <errno.h>
#include <string.h>

static const struct {
	const char *key, *name, *protocol;
	enum action def;
} dets[DET_COUNT] = {
	/* A scan of closed ports is what the foundation bans. */
	[DET_SCAN] = { "scan", "scan", NULL, ACTION_BAN },
	/* The "source" of backscatter is an innocent victim of spoofing (Bejtlich): never ban. */
	[DET_BACKSCATTER] = { "backscatter", "backscatter", NULL, ACTION_ALERT },
	/* Flood sources are forged: alert on the rate, never ban them. */
	[DET_FLOOD] = { "flood", "flood", NULL, ACTION_ALERT },
	/* Load balancers probe latency with SYNs carrying data (Bejtlich): note, do not punish. */
	[DET_PROBE] = { "probe", "probe", NULL, ACTION_ALERT },
	/* SSH on 2222 and the like is usually an admin's choice (sec. 5.8): alert. */
	[DET_SSH_SIG] = { "ssh-sig", "ssh-sig", "ssh", ACTION_ALERT },
	[DET_SSH_LEN] = { "ssh-len", "ssh-len", "ssh", ACTION_ALERT },
	[DET_RLOGIN_SIG] = { "rlogin-sig", "rlogin-sig", "rlogin", ACTION_ALERT },
	[DET_TELNET_SIG] = { "telnet-sig", "telnet-sig", "telnet", ACTION_ALERT },
	/* 326 of 334 backdoors at UCB were FTP servers on other ports (sec. 5.8): alert only. */
	[DET_FTP_SIG] = { "ftp-sig", "ftp-sig", "ftp/smtp", ACTION_ALERT },
	/* A root prompt on a port nothing should answer on is an intrusion: cut it and ban. */
	[DET_ROOT_SIG] = { "root-sig", "root-sig", "root-shell", ACTION_BAN },
	/* "# " later in a connection is also a shell's prompt, but weaker evidence. */
	[DET_ROOT_SIG_WEAK] = { "root-sig-weak", "root-sig", "root-shell", ACTION_ALERT },
	/* Policy violations rather than intrusions (sec. 4.6). */
	[DET_NAPSTER_SIG] = { "napster-sig", "napster-sig", "napster", ACTION_ALERT },
	[DET_GNUTELLA_SIG] = { "gnutella-sig", "gnutella-sig", "gnutella", ACTION_ALERT },
	/* Most interactive flows found are games, chat, IMAP (sec. 5.7, 5.8). */
	[DET_INTERACTIVE] = { "interactive", "interactive", "interactive", ACTION_ALERT },
	/* A scan of closed ports spread over one network's sources: banned like a scan, as the
	 * prefix (docs/security.md, item 4). */
	[DET_DSCAN] = { "distributed-scan", "distributed-scan", NULL, ACTION_BAN },
	/* Not a detector: the reason of a ban an administrator made. No [detect] key. */
	[DET_MANUAL] = { "manual", "manual", NULL, ACTION_BAN },
};

const char *detector_name(enum det d) { return (unsigned)d < DET_COUNT ? dets[d].name : "?"; }
const char *detector_key(enum det d) { return (unsigned)d < DET_COUNT ? dets[d].key : "?"; }
const char *detector_protocol(enum det d) { return (unsigned)d < DET_COUNT ? dets[d].protocol : NULL; }

const char *action_name(enum action a)
{
	static const char *const n[] = { "ignore", "alert", "drop", "ban" };
	return (unsigned)a < 4 ? n[a] : "?";
}

int action_parse(const char *s, enum action *out)
{
	for (int a = ACTION_IGNORE; a <= ACTION_BAN; a++) {
		if (!strcmp(s, action_name(a))) {
			*out = a;
			return 0;
		}
	}
	return -EINVAL;
}

int detector_parse(const char *s)
{
	for (int i = 0; i < DET_COUNT; i++)
		if (!strcmp(s, dets[i].key))
			return i;
	return -EINVAL;
}

enum action detector_default_action(enum det d) { return (unsigned)d < DET_COUNT ? dets[d].def : ACTION_IGNORE; }
