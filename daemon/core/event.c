/* event.c - events as JSON lines: one write(2) per event, so concurrent writers never interleave. */
#include "core/event.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"

/* Six significant digits: a metric of 0.99 prints as 0.99, not 0.98999999999999999. */
#define EVENT_DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))
#define EVENT_MAX_DEPTH 32 /* evidence nesting we repair; detectors build flat objects */
/* Events that cannot be written (a full disk) are said at once, then at most this often. */
#define LOST_LOG_MS 60000

struct event_sink {
	/* Shared for writes to the file: O_APPEND makes each write(2) land whole at the end, so
	 * writers need not wait for each other. Exclusive for reopen (the descriptor changes)
	 * and for a stream (stdio buffers are not atomic). */
	pthread_rwlock_t lock;
	char *path;   /* NULL: no file */
	int fd;       /* -1 when no file */
	FILE *stream; /* not ours: never closed here */
	/* Events that could not be written: counted (nfsentry_events_lost_total), and said in a
	 * line at most every LOST_LOG_MS, with the number lost since the last such line. */
	pthread_mutex_t lost_lock;
	uint64_t lost, lost_unsaid;
	int64_t lost_said_ms; /* CLOCK_MONOTONIC; 0: never said */
};

static int open_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

int event_sink_open(struct event_sink **out, const char *path, FILE *stream)
{
	struct event_sink *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->fd = -1;
	if (path) {
		s->path = strdup(path);
		if (!s->path) {
			r = -ENOMEM;
			goto cleanup;
		}
		s->fd = open_path(path);
		if (s->fd < 0) {
			r = s->fd;
			goto cleanup;
		}
	} else {
		s->stream = stream;
	}
	r = -pthread_rwlock_init(&s->lock, NULL);
	if (r)
		goto cleanup;
	pthread_mutex_init(&s->lost_lock, NULL);
	*out = s;
	return 0;
cleanup:
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
	free(s);
	return r;
}

void event_sink_close(struct event_sink *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->lost_lock);
	free(s->path);
	free(s);
}

uint64_t event_sink_lost(struct event_sink *s)
{
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lost_lock);
	uint64_t n = s->lost;
	pthread_mutex_unlock(&s->lost_lock);
	return n;
}

/* An event that could not be written (@err): counted, and said at once, then at most once
 * per LOST_LOG_MS, so that a full disk is one line a minute, not one per event. */
static void lost_count(struct event_sink *s, int err)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

	pthread_mutex_lock(&s->lost_lock);
	s->lost++;
	s->lost_unsaid++;
	if (!s->lost_said_ms || now - s->lost_said_ms >= LOST_LOG_MS) {
		log_err("%s: cannot write events: %s; %llu lost%s (they are in this log; nfsentry_events_lost_total)",
			s->path ? s->path : "event stream", strerror(-err), (unsigned long long)s->lost_unsaid,
			s->lost_said_ms ? " since the last report" : "");
		s->lost_unsaid = 0;
		s->lost_said_ms = now ? now : 1;
	}
	pthread_mutex_unlock(&s->lost_lock);
}

int event_sink_reopen(struct event_sink *s)
{
	int fd, old;

	if (!s || !s->path)
		return 0;
	/* Open first: if the new file cannot be had, keep writing to the old one. */
	fd = open_path(s->path);
	if (fd < 0)
		return fd;
	pthread_rwlock_wrlock(&s->lock);
	old = s->fd;
	s->fd = fd;
	pthread_rwlock_unlock(&s->lock);
	if (old >= 0)
		close(old);
	return 0;
}

/* "2026-11-22T03:05:53.123456Z". Microseconds are truncated, not rounded, so an event never
 * carries a second its packet had not reached. */
static void format_time(const struct timespec *t, char *buf, size_t len)
{
	struct tm tm;
	time_t sec = t->tv_sec;
	long usec = t->tv_nsec >= 0 && t->tv_nsec < 1000000000 ? t->tv_nsec / 1000 : 0;
	size_t n;

	if (!gmtime_r(&sec, &tm)) {
		sec = 0;
		usec = 0;
		gmtime_r(&sec, &tm);
	}
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", usec);
}

static json_t *proto_value(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return json_string("tcp");
	case IPPROTO_UDP: return json_string("udp");
	case IPPROTO_ICMP: return json_string("icmp");
	case IPPROTO_ICMPV6: return json_string("icmpv6");
	default: return json_integer(proto);
	}
}

static json_t *addr_value(const struct nfs_addr *a)
{
	char buf[NFS_ADDR_STRLEN];
	return json_string(nfs_addr_format(a, buf, sizeof(buf)));
}

json_t *event_new(const struct event_head *h)
{
	char when[64];
	json_t *ev = json_object();
	int r = 0;

	if (!ev)
		return NULL;
	format_time(&h->time, when, sizeof(when));
	/* Insertion order is the order on the line (JSON_PRESERVE_ORDER). A NULL value (out of
	 * memory, or a string that is not UTF-8) makes json_object_set_new() fail. */
	r |= json_object_set_new(ev, "time", json_string(when));
	if (h->event)
		r |= json_object_set_new(ev, "event", json_string(h->event));
	if (h->detector)
		r |= json_object_set_new(ev, "detector", json_string(h->detector));
	if (h->class_)
		r |= json_object_set_new(ev, "class", json_string(h->class_));
	if (h->src)
		r |= json_object_set_new(ev, "src", addr_value(h->src));
	if (h->dst)
		r |= json_object_set_new(ev, "dst", addr_value(h->dst));
	if (h->proto == IPPROTO_TCP || h->proto == IPPROTO_UDP || h->proto == IPPROTO_SCTP) {
		r |= json_object_set_new(ev, "sport", json_integer(h->sport));
		r |= json_object_set_new(ev, "dport", json_integer(h->dport));
	}
	if (h->proto) /* 0: the event is about no packet in particular (a ban, an unban) */
		r |= json_object_set_new(ev, "proto", proto_value(h->proto));
	if (h->action)
		r |= json_object_set_new(ev, "action", json_string(h->action));
	if (h->reason)
		r |= json_object_set_new(ev, "reason", json_string(h->reason));
	if (r) {
		json_decref(ev);
		return NULL;
	}
	return ev;
}

static bool utf8_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0, l; i < n; i += l)
		if (!(l = utf8_len(p + i, n - i)))
			return false;
	return true;
}

/* Detectors put packet bytes in with json_stringn_nocheck(); json_dumps() refuses the whole
 * event if any of them is not UTF-8. Rewrite each byte that is not part of a well-formed
 * sequence as the four characters \xNN, so the evidence survives, readable. */
static int repair_string(json_t *str)
{
	const uint8_t *p = (const uint8_t *)json_string_value(str);
	size_t n = json_string_length(str), o = 0;
	char *buf;
	int r;

	if (utf8_valid(p, n))
		return 0;
	buf = malloc(n * 4);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (l) {
			memcpy(buf + o, p + i, l);
			o += l;
			i += l;
		} else {
			static const char hex[] = "0123456789abcdef";
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[p[i] >> 4];
			buf[o++] = hex[p[i] & 0xf];
			i++;
		}
	}
	r = json_string_setn_nocheck(str, buf, o) ? -ENOMEM : 0;
	free(buf);
	return r;
}

/* Repairs the strings of @v. A key that is not UTF-8 is refused (-EINVAL): keys are the
 * detector's own names, and jansson 2.14 would write half a key and go on, breaking the line. */
static int repair(json_t *v, int depth)
{
	const char *key;
	json_t *item;
	size_t i;
	int r = 0;

	if (depth > EVENT_MAX_DEPTH)
		return -ELOOP;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return repair_string(v);
	case JSON_OBJECT:
		json_object_foreach(v, key, item) {
			if (!utf8_valid((const uint8_t *)key, strlen(key)))
				return -EINVAL;
			if ((r = repair(item, depth + 1)))
				return r;
		}
		return 0;
	case JSON_ARRAY:
		json_array_foreach(v, i, item)
			if ((r = repair(item, depth + 1)))
				return r;
		return 0;
	default:
		return 0;
	}
}

static int write_line(struct event_sink *s, const char *line, size_t len)
{
	int r = 0;

	if (s->path) {
		pthread_rwlock_rdlock(&s->lock);
		/* One write(2): a short one only happens when the disk fills, and then the
		 * retry fetches the errno that says so. */
		for (size_t off = 0; off < len;) {
			ssize_t n = write(s->fd, line + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				r = n < 0 ? -errno : -EIO;
				break;
			}
			off += (size_t)n;
		}
		pthread_rwlock_unlock(&s->lock);
	} else if (s->stream) {
		pthread_rwlock_wrlock(&s->lock);
		errno = 0;
		if (fwrite(line, 1, len, s->stream) != len || fflush(s->stream) != 0) {
			r = errno ? -errno : -EIO;
			clearerr(s->stream); /* let the next event try again */
		}
		pthread_rwlock_unlock(&s->lock);
	}
	return r;
}

int event_emit(struct event_sink *s, json_t *ev)
{
	char *line, *buf;
	size_t len;
	int r;

	if (!ev) {
		/* event_new() or an evidence field ran out of memory upstream. */
		log_err("event: lost (out of memory)");
		return -ENOMEM;
	}
	/* Events are rare next to packets: walking each one before the dump costs nothing. */
	r = repair(ev, 0);
	line = r ? NULL : json_dumps(ev, EVENT_DUMP_FLAGS);
	if (!line) {
		const char *e = json_string_value(json_object_get(ev, "event"));
		const char *d = json_string_value(json_object_get(ev, "detector"));
		log_err("event: cannot encode %s event from %s", e ? e : "?", d ? d : "?");
		json_decref(ev);
		return r ? r : -ENOMEM;
	}
	json_decref(ev);
	log_notice("event: %s", line);
	if (!s || (!s->path && !s->stream)) {
		free(line);
		return 0;
	}
	len = strlen(line);
	buf = malloc(len + 1);
	if (!buf) {
		free(line);
		return -ENOMEM;
	}
	memcpy(buf, line, len);
	buf[len] = '\n';
	free(line);
	r = write_line(s, buf, len + 1);
	free(buf);
	if (r < 0)
		lost_count(s, r);
	return r;
}
