/* lapi.h - the HTTP(S) client of CrowdSec's Local API (libcurl): the machine's login and its
 * alerts, the bouncer's decision stream. Every request is bounded in time ([lapi] timeout) and
 * every answer in size; no redirect is followed; only http and https. Secrets go in headers
 * and bodies, never in a URL, a log line or an error text. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "creds.h"

struct lapi;

/* Borrows @cfg and @creds (they must outlive it). Returns 0 or -ENOMEM. */
int lapi_new(struct lapi **out, const struct cs_config *cfg, const struct cs_creds *creds, char *err, size_t errlen);
void lapi_free(struct lapi *l);

/* Results of lapi_post_alerts(): */
#define LAPI_REFUSED 1 /* the LAPI answered and refused the body (4xx, or a 500 that names the
			* body: see lapi_alerts_refused()): do not send it again */
#define LAPI_BUSY 2    /* the LAPI answered another 5xx (crowdsec 1.4.6 under a burst: 500
			* "... database is locked"): the same body may be taken later */

/* Whether an answer @status with the "message" @msg (NULL: none) to POST /v1/alerts refuses
 * the body itself. crowdsec 1.4.6 answers 500 both for bodies it refuses ("validation failure
 * list: ...", "unable to create alerts: invalid addr/range ...", "unable to create alerts:
 * decision duration '...' : time: invalid duration ...") and for its own trouble ("unable to
 * create alerts: error while updating decisions: database is locked", measured under 2000
 * alerts in a burst): only the former are refusals. Any other 4xx but 401 and 429 refuses. */
bool lapi_alerts_refused(int status, const char *msg);

/* POSTs the array @alerts to /v1/alerts, logging in first when there is no token and again
 * once on a 401. Returns 0 (201: taken), LAPI_REFUSED or LAPI_BUSY (the status and the
 * answer's "message" in @err), or -errno when it may work later: -ECONNREFUSED/-ETIMEDOUT/-EIO
 * (the LAPI is down, slow or answered 502-504, 429), -EACCES (the login itself was refused). */
int lapi_post_alerts(struct lapi *l, json_t *alerts, char *err, size_t errlen);

/* GETs /v1/alerts?since=@since_s s&limit=0 with the machine's token (logging in when there is
 * none) and returns in *@out the messages of the alerts of this machine among them (cut by
 * lapi_alert_key()) that carry a decision, as a JSON object message -> true (caller frees). For a batch answered LAPI_BUSY: crowdsec 1.4.6 is not
 * atomic per batch, so some of it may be in already. Returns 0 or -errno (@err says what). */
/* Cuts an alert's message to what identifies its ban: without the evidence token, which may
 * come between two tries of the same alert (alert.c writes "..., evidence TOKEN"). */
void lapi_alert_key(char *msg);
int lapi_alerts_held(struct lapi *l, long since_s, json_t **out, char *err, size_t errlen);

/* GETs /v1/decisions/stream?startup=true|false with the bouncer's key. Returns 0 and the body
 * in *@body, *@len (caller frees; NUL-terminated), -EMSGSIZE (longer than @max), -EACCES (403:
 * a wrong key), or -errno as above; @err says what. */
int lapi_stream(struct lapi *l, bool startup, size_t max, char **body, size_t *len, char *err, size_t errlen);

/* The scenarios the machine declares at login (nfsentry/DETECTOR for each detector). */
void lapi_set_scenarios(struct lapi *l, const char *const *names, size_t n);
