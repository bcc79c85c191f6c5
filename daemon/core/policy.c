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

bool policy_port_standard(enum det d, uint16_t port)
{
	/* Where each protocol normally answers. ftp-sig also matches SMTP greetings (Zhang &
	 * Paxson sec. 4.4), so mail ports count as standard for it. */
	static const uint16_t ssh[] = { 22, 0 }, rlogin[] = { 513, 0 }, telnet[] = { 23, 0 },
			      ftp[] = { 21, 25, 465, 587, 0 }, napster[] = { 6699, 7777, 8875, 8888, 0 },
			      gnutella[] = { 6346, 6347, 0 },
			      interactive[] = { 21, 22, 23, 25, 110, 143, 194, 513, 514, 587, 993, 995,
						6667, 6668, 6669, 6697, 0 },
			      none[] = { 0 };
	const uint16_t *list;

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
	for (; *list; list++)
		if (*list == port)
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
