/* procinfo.c - see procinfo.h. Each file is read through a descriptor of the process's own
 * /proc folder: once the process is gone, reads through it fail (ESRCH) instead of reaching a
 * new process that took the same pid. */
#include "attrib/procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attrib/clock.h"
#include "attrib/text.h"

#define STAT_MAX 2048   /* 52 numbers of at most 20 digits and a 64-byte name */
#define STATUS_MAX 4096 /* "Uid:" is the ninth line */

/* Reads at most @cap bytes of @name below @dirfd into @buf. Sets *@more when the file had
 * more. Returns the length read or -errno. */
static ssize_t read_at(int dirfd, const char *name, char *buf, size_t cap, bool *more)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return -errno;
	while (n < cap) {
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (more) {
		char c;
		*more = n == cap && read(fd, &c, 1) == 1;
	}
	close(fd);
	return (ssize_t)n;
}

static bool is_gone(int err)
{
	return err == -ENOENT || err == -ESRCH;
}

int procinfo_parse_stat(const char *buf, size_t len, struct procinfo *out)
{
	const char *open = memchr(buf, '(', len), *close = NULL;
	char rest[STAT_MAX + 1], head[24];
	size_t n;

	for (size_t i = len; i > 0; i--)
		if (buf[i - 1] == ')') {
			close = buf + i - 1;
			break;
		}
	if (!open || !close || close < open || (size_t)(open - buf) >= sizeof(head))
		return -EINVAL;
	memcpy(head, buf, (size_t)(open - buf));
	head[open - buf] = '\0';
	n = (size_t)(buf + len - (close + 1));
	if (n > STAT_MAX)
		n = STAT_MAX;
	memcpy(rest, close + 1, n);
	rest[n] = '\0';
	/* proc(5): pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime */
	if (sscanf(head, "%d", &out->pid) != 1 ||
	    sscanf(rest, " %c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %ld %ld %*d %*d %llu", &out->state,
		   &out->ppid, &out->tty_nr, &out->priority, &out->nice, &out->starttime) != 6)
		return -EINVAL;
	out->comm_len = (size_t)(close - open - 1);
	if (out->comm_len > sizeof(out->comm))
		out->comm_len = sizeof(out->comm);
	memcpy(out->comm, open + 1, out->comm_len);
	return 0;
}

/* The "Uid:\treal\teffective\tsaved\tfs" line. */
static void parse_status(const char *buf, size_t len, struct procinfo *out)
{
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[128];

		if (l > 4 && l < sizeof(line) && !memcmp(p, "Uid:", 4)) {
			memcpy(line, p, l);
			line[l] = '\0';
			out->have_uids = sscanf(line, "Uid: %u %u", &out->uid, &out->euid) == 2;
			return;
		}
		p += l + 1;
	}
}

int procinfo_read(int procfd, int pid, struct procinfo *out)
{
	char name[16], *buf = NULL;
	ssize_t n;
	int dfd, r;

	memset(out, 0, offsetof(struct procinfo, cmdline));
	out->cmdline_len = out->exe_len = 0;
	out->cmdline_cut = out->have_exe = out->exe_denied = false;
	snprintf(name, sizeof(name), "%d", pid);
	dfd = openat(procfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		if (!is_gone(-errno))
			return -errno;
		/* hidepid=invisible (systemd's ProtectProc=invisible) hides other users'
		 * processes as if they had exited; signal 0 tells the two apart. */
		return kill(pid, 0) == 0 || errno == EPERM ? -EACCES : -ESRCH;
	}
	buf = malloc(STATUS_MAX > STAT_MAX ? STATUS_MAX : STAT_MAX);
	if (!buf) {
		r = -ENOMEM;
		goto cleanup;
	}
	n = read_at(dfd, "stat", buf, STAT_MAX, NULL);
	if (n < 0) {
		r = is_gone((int)n) ? -ESRCH : (int)n;
		goto cleanup;
	}
	r = procinfo_parse_stat(buf, (size_t)n, out);
	if (r < 0 || out->pid != pid) {
		r = -ESRCH; /* a zombie's stat does not go half-written; treat the odd case as gone */
		goto cleanup;
	}
	/* The rest is best effort: the process may exit between any two reads. */
	n = read_at(dfd, "status", buf, STATUS_MAX, NULL);
	if (n > 0)
		parse_status(buf, (size_t)n, out);
	n = read_at(dfd, "cmdline", out->cmdline, sizeof(out->cmdline), &out->cmdline_cut);
	out->cmdline_len = n > 0 ? (size_t)n : 0;
	n = readlinkat(dfd, "exe", out->exe, sizeof(out->exe));
	if (n >= 0) {
		out->have_exe = true;
		out->exe_len = (size_t)n; /* readlink truncates silently: == size means cut */
	} else {
		out->exe_denied = errno == EACCES || errno == EPERM;
	}
	r = 0;
cleanup:
	free(buf);
	close(dfd);
	return r;
}

const char *procinfo_tty_name(int tty_nr, char *buf, size_t len)
{
	/* new_encode_dev(): minor's low byte, then the 12-bit major, then the minor's high bits. */
	unsigned v = (unsigned)tty_nr, major = (v >> 8) & 0xfff, minor = (v & 0xff) | ((v >> 12) & 0xfff00);

	if (!v)
		return NULL;
	if (major >= 136 && major <= 143) /* UNIX98 pty slaves, as procps names them */
		snprintf(buf, len, "pts/%u", minor + (major - 136) * 256);
	else if (major == 4 && minor < 64)
		snprintf(buf, len, "tty%u", minor);
	else if (major == 4)
		snprintf(buf, len, "ttyS%u", minor - 64);
	else if (major == 5 && minor == 1)
		snprintf(buf, len, "console");
	else
		snprintf(buf, len, "%u:%u", major, minor);
	return buf;
}

/* The arguments: NUL-separated; the last may be unterminated (cut by our bound, or a process
 * that rewrote its argument area, as setproctitle does). */
static json_t *cmdline_json(const struct procinfo *pi, bool *cut)
{
	json_t *a = json_array();
	size_t i = 0, nargs = 0;

	if (!a)
		return NULL;
	*cut = pi->cmdline_cut;
	while (i < pi->cmdline_len) {
		const char *s = pi->cmdline + i, *z = memchr(s, '\0', pi->cmdline_len - i);
		size_t l = z ? (size_t)(z - s) : pi->cmdline_len - i;

		if (nargs == PROCINFO_ARGS_MAX) {
			*cut = true;
			break;
		}
		if (json_array_append_new(a, attrib_text_json(s, l, l, NULL)) < 0) {
			json_decref(a);
			return NULL;
		}
		nargs++;
		i += l + 1;
	}
	return a;
}

int procinfo_json(const struct procinfo *pi, int pid, int64_t boot_ns, json_t *obj)
{
	char tbuf[ATTRIB_TIME_STRLEN], ttybuf[32];
	const char *tty;
	json_t *exe;
	bool cut = false;
	int r = 0;

	r |= json_object_set_new(obj, "pid", json_integer(pid));
	if (!pi) {
		static const char *const keys[] = { "ppid", "name", "state", "uid", "euid", "start_time", "tty",
						    "priority", "nice", "exe", "cmdline", "cmdline_truncated" };
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			r |= json_object_set_new(obj, keys[i], json_null());
		return r ? -ENOMEM : 0;
	}
	tty = procinfo_tty_name(pi->tty_nr, ttybuf, sizeof(ttybuf));
	r |= json_object_set_new(obj, "ppid", json_integer(pi->ppid));
	r |= json_object_set_new(obj, "name", attrib_text_json(pi->comm, pi->comm_len, sizeof(pi->comm), NULL));
	r |= json_object_set_new(obj, "state", attrib_text_json(&pi->state, 1, 1, NULL));
	r |= json_object_set_new(obj, "uid", pi->have_uids ? json_integer(pi->uid) : json_null());
	r |= json_object_set_new(obj, "euid", pi->have_uids ? json_integer(pi->euid) : json_null());
	r |= json_object_set_new(obj, "start_time",
				 json_string(attrib_clock_format(attrib_clock_after_boot(boot_ns, pi->starttime), tbuf,
								 sizeof(tbuf))));
	r |= json_object_set_new(obj, "tty", tty ? json_string(tty) : json_null());
	r |= json_object_set_new(obj, "priority", json_integer(pi->priority));
	r |= json_object_set_new(obj, "nice", json_integer(pi->nice));
	exe = pi->have_exe ? attrib_text_json(pi->exe, pi->exe_len, sizeof(pi->exe), NULL) : json_null();
	r |= json_object_set_new(obj, "exe", exe);
	r |= json_object_set_new(obj, "cmdline", cmdline_json(pi, &cut));
	r |= json_object_set_new(obj, "cmdline_truncated", json_boolean(cut));
	return r ? -ENOMEM : 0;
}
