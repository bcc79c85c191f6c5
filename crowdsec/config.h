/* config.h - /etc/nfsentry/crowdsec.conf, the bridge's settings (man nfsentry-crowdsec(8)). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

#define CS_PATH_MAX 1024

struct cs_config {
	/* [lapi] */
	char url[CS_PATH_MAX];         /* http(s)://host:port, without a trailing / */
	char ca_file[CS_PATH_MAX];     /* "" : the system's CAs */
	char cert_file[CS_PATH_MAX];   /* client certificate, optional */
	char key_file[CS_PATH_MAX];
	char credentials[CS_PATH_MAX]; /* the credentials file (creds.h) */
	uint64_t timeout;              /* seconds per HTTP request */
	/* [publish] */
	bool publish;
	uint64_t batch;      /* seconds a ban waits for its evidence token and for others to share a POST */
	uint64_t max_alerts; /* alerts per POST */
	uint64_t queue_max;  /* pending alerts kept (memory and state_dir) */
	/* [apply] */
	bool apply;
	uint64_t update_frequency; /* seconds between two pulls of the stream */
	uint64_t max_decisions;    /* decisions remembered (the value -> ids map) */
	/* [daemon] */
	char control_socket[108];
	char state_dir[CS_PATH_MAX];
	enum log_level log_level;
};

/* The defaults. */
void cs_config_defaults(struct cs_config *c);
/* Reads @path over the defaults in @c. Returns 0, or -errno with "FILE:LINE: what" in @err
 * (unknown sections and keys are errors, like nfsentry.conf's). */
int cs_config_load(struct cs_config *c, const char *path, char *err, size_t errlen);
/* Parses the text of a config file (what cs_config_load() reads), for tests and the fuzzer. */
int cs_config_parse(struct cs_config *c, const char *text, const char *name, char *err, size_t errlen);
