/* creds.h - the bridge's secrets: the machine's id and password (publish) and the bouncer's
 * API key (apply), in their own root-only INI file, never in crowdsec.conf and never logged.
 *
 *   [machine]
 *   id = web-01
 *   password = ...
 *   [bouncer]
 *   api_key = ...
 */
#pragma once

#include <stddef.h>

struct cs_creds {
	char machine_id[128];
	char password[256];
	char api_key[256];
};

/* Reads @path into @out. Refuses (-EPERM) a file that others may read or write (mode & 007):
 * the owner and its group only. Returns 0 or -errno with the reason in @err, which never
 * holds a secret. */
int cs_creds_load(struct cs_creds *out, const char *path, char *err, size_t errlen);
/* Parses the text of such a file (no mode check): for cs_creds_load() and the tests. */
int cs_creds_parse(struct cs_creds *out, const char *text, const char *name, char *err, size_t errlen);
/* Overwrites the secrets in memory. */
void cs_creds_wipe(struct cs_creds *c);
