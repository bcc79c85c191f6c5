/* procinfo.h - what STOP Table II saves about one process (Carrier & Shields, sec. 3.3): name,
 * pid and parent, real and effective uid, start time, terminal, priority; plus its program
 * and arguments. Read from /proc/PID/{stat,status,cmdline,exe}, each read bounded. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROCINFO_COMM_MAX 64      /* comm is 16 bytes; kernel worker names in stat run longer */
#define PROCINFO_CMDLINE_MAX 4096 /* bytes of arguments read */
#define PROCINFO_ARGS_MAX 64      /* arguments kept */
#define PROCINFO_EXE_MAX 4096     /* PATH_MAX */

/* Text fields hold bytes as the kernel gave them: not NUL-terminated, not trusted. */
struct procinfo {
	int pid, ppid;
	char state;
	char comm[PROCINFO_COMM_MAX];
	size_t comm_len;
	int tty_nr;
	long priority, nice;
	unsigned long long starttime; /* clock ticks after boot */
	bool have_uids;
	unsigned uid, euid;
	char cmdline[PROCINFO_CMDLINE_MAX];
	size_t cmdline_len;
	bool cmdline_cut; /* there was more than PROCINFO_CMDLINE_MAX */
	char exe[PROCINFO_EXE_MAX];
	size_t exe_len;
	bool have_exe, exe_denied; /* exe_denied: readlink refused for want of privilege */
};

/* Reads process @pid below @procfd (an open /proc). Returns 0; -ESRCH when it is gone (its
 * stat cannot be read any more); -EACCES when it exists but /proc hides it from us (hidepid);
 * or -errno. Only stat is required: status, cmdline and exe are left unset (have_uids,
 * have_exe) when unreadable. */
int procinfo_read(int procfd, int pid, struct procinfo *out);

/* Parses the @len bytes of a /proc/PID/stat line (no NUL needed). The name is whatever lies
 * between the first '(' and the last ')': it may hold ')', spaces and newlines itself.
 * Returns 0 or -EINVAL. */
int procinfo_parse_stat(const char *buf, size_t len, struct procinfo *out);

/* The terminal of stat's tty_nr: "pts/3", "tty1", "ttyS0", "console", else "MAJOR:MINOR".
 * NULL when there is none (0). */
const char *procinfo_tty_name(int tty_nr, char *buf, size_t len);

/* Adds the fields of @pi to @obj: "pid", "ppid", "name", "state", "uid", "euid", "start_time",
 * "tty", "priority", "nice", "exe", "cmdline", "cmdline_truncated". With @pi NULL (a process
 * that could not be read) all but "pid" (@pid) are null. @boot_ns: attrib_clock_boot_ns().
 * Returns 0 or -ENOMEM. */
int procinfo_json(const struct procinfo *pi, int pid, int64_t boot_ns, json_t *obj);
