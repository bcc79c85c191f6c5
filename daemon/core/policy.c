/* policy.c - see policy.h. */
#include "core/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void policy_init_defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < DET_COUNT; i++)
		p->action[i] = detector_default_action(i);
}

int policy_allow_add(struct policy *p, const char *spec, char *err, size_t errlen)
{
	char det[32], port[16], server[NFS_ADDR_STRLEN + 1], client[NFS_ADDR_STRLEN + 1], extra;
	struct policy_allow a = { .det = -1 };

	if (sscanf(spec, "%31s %15s %50s %50s %c", det, port, server, client, &extra) != 4) {
		snprintf(err, errlen, "\"%s\": expected DETECTOR PORT SERVER CLIENT (\"*\" for any)", spec);
		return -EINVAL;
	}
	if (strcmp(det, "*") && (a.det = detector_parse(det)) < 0) {
		snprintf(err, errlen, "\"%s\" is not a detector", det);
		return -EINVAL;
	}
	if (strcmp(port, "*")) {
		char *end;
		unsigned long v = strtoul(port, &end, 10);
		if (*end || v == 0 || v > 65535) {
			snprintf(err, errlen, "\"%s\" is not a port (1-65535 or *)", port);
			return -EINVAL;
		}
		a.port = (uint16_t)v;
	}
	if (strcmp(server, "*") && nfs_addr_parse(server, false, &a.server) < 0) {
		snprintf(err, errlen, "\"%s\" is not an address or network", server);
		return -EINVAL;
	}
	if (strcmp(client, "*") && nfs_addr_parse(client, false, &a.client) < 0) {
		snprintf(err, errlen, "\"%s\" is not an address or network", client);
		return -EINVAL;
	}
	if (p->nallow >= POLICY_ALLOW_MAX) {
		snprintf(err, errlen, "more than %d entries", POLICY_ALLOW_MAX);
		return -E2BIG;
	}
	p->allow[p->nallow++] = a;
	return 0;
}

/* A range of ports, both ends included; a list ends with { 0, 0 }. */
struct port_range {
	uint16_t lo, hi;
};

bool policy_port_standard(enum det d, uint16_t port)
{
	/* Where each protocol normally answers. ftp-sig also matches SMTP greetings (Zhang &
	 * Paxson sec. 4.4), so mail ports count as standard for it. */
	static const struct port_range ssh[] = { { 22, 22 }, { 0, 0 } }, rlogin[] = { { 513, 513 }, { 0, 0 } },
				       telnet[] = { { 23, 23 }, { 0, 0 } },
				       ftp[] = { { 21, 21 }, { 25, 25 }, { 465, 465 }, { 587, 587 }, { 0, 0 } },
				       napster[] = { { 6699, 6699 }, { 7777, 7777 }, { 8875, 8875 }, { 8888, 8888 },
						     { 0, 0 } },
				       gnutella[] = { { 6346, 6347 }, { 0, 0 } }, none[] = { { 0, 0 } };
	/* Sec. 5.7-5.8: the timing test finds people, and people are normal where a service is
	 * for them: logins, mail read by hand, chat, and remote desktops, whose keyboard and
	 * pointer events are small packets at human pace. Machine protocols are not listed:
	 * the detector itself rejects those (steady pacing, their openings), and a backdoor on
	 * their ports stays visible. */
	static const struct port_range interactive[] = {
		{ 21, 23 },       /* ftp, ssh, telnet */
		{ 25, 25 },       /* smtp (sec. 5.7, note 3: interactive SMTP sessions) */
		{ 110, 110 },     /* pop3 (sec. 5.7) */
		{ 143, 143 },     /* imap (sec. 5.7) */
		{ 194, 194 },     /* irc */
		{ 465, 465 },     /* smtp submission over TLS */
		{ 512, 514 },     /* rexec, rlogin, rsh */
		{ 587, 587 },     /* smtp submission */
		{ 992, 993 },     /* telnets, imaps */
		{ 995, 995 },     /* pop3s */
		{ 1494, 1494 },   /* Citrix ICA */
		{ 2598, 2598 },   /* Citrix session reliability (CGP) */
		{ 3389, 3389 },   /* RDP (ms-wbt-server) */
		{ 5222, 5223 },   /* XMPP clients: chat (sec. 5.8) */
		{ 5900, 5999 },   /* VNC (RFB), display 5900 + N */
		{ 6000, 6063 },   /* X11, display 6000 + N */
		{ 6667, 6669 },   /* irc */
		{ 6697, 6697 },   /* ircs */
		{ 0, 0 },
	};
	const struct port_range *list;

	switch (d) {
	case DET_SSH_SIG: case DET_SSH_LEN: list = ssh; break;
	case DET_RLOGIN_SIG: list = rlogin; break;
	case DET_TELNET_SIG: list = telnet; break;
	case DET_FTP_SIG: list = ftp; break;
	case DET_NAPSTER_SIG: list = napster; break;
	case DET_GNUTELLA_SIG: list = gnutella; break;
	case DET_INTERACTIVE: list = interactive; break;
	default: list = none; break; /* a root shell has no standard port */
	}
	for (; list->lo; list++)
		if (port >= list->lo && port <= list->hi)
			return true;
	return false;
}

enum action policy_decide(const struct policy *p, enum det d, const struct nfs_addr *client,
			  const struct nfs_addr *server, uint16_t port)
{
	for (size_t i = 0; i < p->nallow; i++) {
		const struct policy_allow *a = &p->allow[i];
		if (a->det >= 0 && a->det != (int)d)
			continue;
		if (a->port && a->port != port)
			continue;
		if (a->server.family && (!server || !nfs_addr_in(&a->server, server)))
			continue;
		if (a->client.family && (!client || !nfs_addr_in(&a->client, client)))
			continue;
		return ACTION_IGNORE;
	}
	return p->action[d];
}
