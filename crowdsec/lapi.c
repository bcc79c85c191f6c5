/* lapi.c - libcurl's easy interface, one handle reused (keep-alive), one request at a time. */
#include "lapi.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"

#define LAPI_ANSWER_MAX (64 * 1024) /* login and alerts answers: a token, a list of ids */

struct lapi {
	CURL *h;
	const struct cs_config *cfg;
	const struct cs_creds *creds;
	json_t *scenarios;
	char token[4096]; /* the JWT, "" until logged in */
};

struct body {
	char *buf;
	size_t len, max;
	bool over;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t k = size * n;

	if (b->len + k > b->max) {
		b->over = true;
		return 0; /* libcurl ends the transfer: CURLE_WRITE_ERROR */
	}
	char *nb = realloc(b->buf, b->len + k + 1);
	if (!nb)
		return 0;
	memcpy(nb + b->len, p, k);
	b->buf = nb;
	b->len += k;
	b->buf[b->len] = '\0';
	return k;
}

int lapi_new(struct lapi **out, const struct cs_config *cfg, const struct cs_creds *creds, char *err, size_t errlen)
{
	static bool global;
	struct lapi *l;

	if (!global) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "libcurl did not initialise");
			return -ENOMEM;
		}
		global = true;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->h = curl_easy_init()) || !(l->scenarios = json_array())) {
		lapi_free(l);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->cfg = cfg;
	l->creds = creds;
	*out = l;
	return 0;
}

void lapi_free(struct lapi *l)
{
	if (!l)
		return;
	if (l->h)
		curl_easy_cleanup(l->h);
	json_decref(l->scenarios);
	explicit_bzero(l->token, sizeof(l->token));
	free(l);
}

void lapi_set_scenarios(struct lapi *l, const char *const *names, size_t n)
{
	json_array_clear(l->scenarios);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(l->scenarios, json_string(names[i]));
}

/* One request. @json: a body to POST (NULL: GET). @auth: a header line with a secret. Returns
 * the HTTP status (> 0) with the answer in @b, or -errno when no answer came. */
static int request(struct lapi *l, const char *path, const char *json, const char *auth, struct body *b, char *err,
		   size_t errlen)
{
	char url[CS_PATH_MAX + 128], ua[64];
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURLcode c;
	CURL *h = l->h;

	snprintf(url, sizeof(url), "%s%s", l->cfg->url, path);
	snprintf(ua, sizeof(ua), "nfsentry-crowdsec/%s", NFSENTRY_VERSION);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)l->cfg->timeout);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)l->cfg->timeout);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip if the LAPI offers it: the stream is big */
	if (*l->cfg->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, l->cfg->ca_file);
	if (*l->cfg->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, l->cfg->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, l->cfg->key_file);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (json) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
	}
	if (auth)
		hdr = curl_slist_append(hdr, auth);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	/* The header list held the secret: curl copied nothing of it we must keep. */
	for (struct curl_slist *s = hdr; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(hdr);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	if (b->over) {
		snprintf(err, errlen, "%s: the answer is longer than %zu bytes", path, b->max);
		return -EMSGSIZE;
	}
	if (c != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, curl_easy_strerror(c));
		switch (c) {
		case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
		case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
		case CURLE_OUT_OF_MEMORY: return -ENOMEM;
		default: return -EIO;
		}
	}
	return (int)status;
}

/* "HTTP 500: validation failure ..." from the answer's "message", cut to one line. */
static void status_text(int status, const struct body *b, const char *what, char *err, size_t errlen)
{
	json_t *o = b->buf ? json_loadb(b->buf, b->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(o, "message"));
	char msg[256];

	snprintf(msg, sizeof(msg), "%s", m ? m : "");
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r' || (unsigned char)*p < 0x20)
			*p = ' ';
	snprintf(err, errlen, "%s: HTTP %d%s%s", what, status, *msg ? ": " : "", msg);
	json_decref(o);
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

bool lapi_alerts_refused(int status, const char *msg)
{
	if (status < 500)
		return status != 401 && status != 429 && (status < 200 || status >= 300);
	if (status != 500 || !msg)
		return false;
	if (starts(msg, "validation failure"))
		return true;
	if (!starts(msg, "unable to create alerts: "))
		return false;
	msg += strlen("unable to create alerts: ");
	return starts(msg, "invalid addr/range") || (starts(msg, "decision duration") && strstr(msg, "invalid duration"));
}

/* The answer's "message" (NULL: none) checked by lapi_alerts_refused(). */
static bool body_refused(int status, const struct body *b)
{
	json_t *o = b->buf ? json_loadb(b->buf, b->len, 0, NULL) : NULL;
	bool r = lapi_alerts_refused(status, json_string_value(json_object_get(o, "message")));

	json_decref(o);
	return r;
}

static int login(struct lapi *l, char *err, size_t errlen)
{
	struct body b = { .max = LAPI_ANSWER_MAX };
	json_t *req = json_pack("{s:s, s:s, s:O}", "machine_id", l->creds->machine_id, "password", l->creds->password,
				"scenarios", l->scenarios);
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	int r;

	json_decref(req);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	l->token[0] = '\0';
	r = request(l, "/v1/watchers/login", text, NULL, &b, err, errlen);
	explicit_bzero(text, strlen(text));
	free(text);
	if (r == 200) {
		json_t *o = json_loadb(b.buf ? b.buf : "", b.len, 0, NULL);
		const char *tok = json_string_value(json_object_get(o, "token"));
		/* The token goes in a header line: nothing but printable ASCII. */
		bool ok = tok && *tok && strlen(tok) < sizeof(l->token) && strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/") == strlen(tok);
		if (ok)
			snprintf(l->token, sizeof(l->token), "%s", tok);
		else
			snprintf(err, errlen, "/v1/watchers/login: no token in the answer");
		json_decref(o);
		r = ok ? 0 : -EPROTO;
	} else if (r > 0) {
		status_text(r, &b, "login of the machine", err, errlen);
		r = r == 401 || r == 403 ? -EACCES : -EIO;
	}
	free(b.buf);
	return r;
}

/* A request as this machine (a JWT): logs in first when there is no token, and once more when
 * the LAPI answers 401 (the token lives an hour, and a restarted LAPI has a new secret).
 * Returns the HTTP status with its body in @b (the caller frees b->buf), or -errno; a second
 * 401 is -EACCES with the reason in @err. */
static int request_as_machine(struct lapi *l, const char *path, const char *json, struct body *b, const char *what,
			      char *err, size_t errlen)
{
	char auth[sizeof(l->token) + 32];
	size_t max = b->max;
	int r = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		*b = (struct body){ .max = max };
		if (!*l->token && (r = login(l, err, errlen)) < 0)
			return r;
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", l->token);
		r = request(l, path, json, auth, b, err, errlen);
		explicit_bzero(auth, sizeof(auth));
		if (r != 401)
			return r;
		l->token[0] = '\0';
		status_text(r, b, what, err, errlen);
		free(b->buf);
		b->buf = NULL;
		r = -EACCES;
	}
	return r;
}

int lapi_post_alerts(struct lapi *l, json_t *alerts, char *err, size_t errlen)
{
	char *text = json_dumps(alerts, JSON_COMPACT);
	struct body b = { .max = LAPI_ANSWER_MAX };
	int r;

	if (!text) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = request_as_machine(l, "/v1/alerts", text, &b, "alerts", err, errlen);
	if (r == 200 || r == 201)
		r = 0;
	else if (r == 429 || r == 502 || r == 503 || r == 504) {
		status_text(r, &b, "alerts", err, errlen);
		r = -EIO;
	} else if (r > 0) {
		status_text(r, &b, "alerts", err, errlen);
		r = body_refused(r, &b) ? LAPI_REFUSED : LAPI_BUSY;
	}
	free(b.buf);
	free(text);
	return r;
}

#define HELD_ANSWER_MAX (64u * 1024 * 1024)

void lapi_alert_key(char *msg)
{
	char *e = strstr(msg, ", evidence ");

	if (e)
		*e = '\0';
}

int lapi_alerts_held(struct lapi *l, long since_s, json_t **out, char *err, size_t errlen)
{
	struct body b = { .max = HELD_ANSWER_MAX };
	char path[96];
	int r;

	snprintf(path, sizeof(path), "/v1/alerts?since=%lds&limit=0", since_s > 0 ? since_s : 1);
	r = request_as_machine(l, path, NULL, &b, "alerts held", err, errlen);
	if (r == 200) {
		json_t *a = json_loadb(b.buf ? b.buf : "null", b.buf ? b.len : 4, 0, NULL), *e;
		json_t *set = json_object();
		size_t i;
		r = set ? 0 : -ENOMEM;
		json_array_foreach(a, i, e) {
			const char *m = json_string_value(json_object_get(e, "machine_id"));
			const char *msg = json_string_value(json_object_get(e, "message"));
			/* An alert without its decision is not taken: measured on 1.4.6, the failed
			 * batch left some alerts in whose decisions were not. */
			if (set && m && msg && !strcmp(m, l->creds->machine_id) &&
			    json_array_size(json_object_get(e, "decisions"))) {
				char key[512];
				snprintf(key, sizeof(key), "%s", msg);
				lapi_alert_key(key);
				json_object_set_new(set, key, json_true());
			}
		}
		json_decref(a);
		*out = set;
	} else if (r > 0) {
		status_text(r, &b, "alerts held", err, errlen);
		r = -EIO;
	}
	free(b.buf);
	return r;
}

int lapi_stream(struct lapi *l, bool startup, size_t max, char **body, size_t *len, char *err, size_t errlen)
{
	struct body b = { .max = max };
	char auth[sizeof(l->creds->api_key) + 16];
	int r;

	snprintf(auth, sizeof(auth), "X-Api-Key: %s", l->creds->api_key);
	r = request(l, startup ? "/v1/decisions/stream?startup=true" : "/v1/decisions/stream?startup=false", NULL, auth,
		    &b, err, errlen);
	explicit_bzero(auth, sizeof(auth));
	if (r == 200) {
		*body = b.buf ? b.buf : strdup("");
		*len = b.len;
		return *body ? 0 : -ENOMEM;
	}
	if (r > 0) {
		status_text(r, &b, "decisions stream", err, errlen);
		r = r == 401 || r == 403 ? -EACCES : -EIO;
	}
	free(b.buf);
	return r;
}
