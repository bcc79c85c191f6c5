/* sctpeps.c - see sctpeps.h. The table's lines (net/sctp/proc.c, sctp_eps_seq_show):
 *   ENDPT SOCK STY SST HBKT LPORT UID INODE LADDRS...
 * after one header line; LPORT is the sixth field. */
#include "detect/sctpeps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS_FIELD_LPORT 5

void sctpeps_init(struct sctpeps *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->path = path;
	s->read_ms = -1;
}

void sctpeps_deinit(struct sctpeps *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* Refills @s->bound from the table; a missing or unreadable table leaves it empty. */
static void eps_read(struct sctpeps *s)
{
	char line[512];
	FILE *f = fopen(s->path, "re");

	memset(s->bound, 0, sizeof(s->bound));
	if (!f)
		return;
	bool header = true, cont = false;
	while (fgets(line, sizeof(line), f)) {
		/* A long list of addresses spans several reads: only a line's first read counts. */
		bool skip = header || cont;
		cont = !strchr(line, '\n');
		if (skip) {
			header = header && cont;
			continue;
		}
		char *save = NULL, *tok = strtok_r(line, " \t\n", &save);
		for (int i = 0; tok && i < EPS_FIELD_LPORT; i++)
			tok = strtok_r(NULL, " \t\n", &save);
		char *end;
		unsigned long port = tok ? strtoul(tok, &end, 10) : 0;
		if (!tok || *end || port == 0 || port > 65535)
			continue; /* a line we do not understand */
		s->bound[port / 8] |= (uint8_t)(1u << (port % 8));
	}
	fclose(f);
}

bool sctpeps_bound(struct sctpeps *s, uint16_t port, int64_t now_ms)
{
	pthread_mutex_lock(&s->lock);
	int64_t age = s->read_ms < 0 ? INT64_MAX : now_ms - s->read_ms;
	bool bound = s->bound[port / 8] & (1u << (port % 8));
	/* Stale, or a miss that a socket opened since the last read could explain. */
	if (age >= SCTPEPS_REFRESH_MS || age < 0 || (!bound && age >= SCTPEPS_RETRY_MS)) {
		eps_read(s);
		s->read_ms = now_ms;
		bound = s->bound[port / 8] & (1u << (port % 8));
	}
	pthread_mutex_unlock(&s->lock);
	return bound;
}
