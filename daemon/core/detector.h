/* detector.h - the detectors and the actions: the names events, the config, the ban table and
 * the evidence records share. The table behind it (core/detector.c) is the one place a
 * detector is named; what each one does with a packet lives in detect/. */
#pragma once

enum action { ACTION_IGNORE, ACTION_ALERT, ACTION_DROP, ACTION_BAN };

/* Detectors, named as in events ("detector") and in [detect] keys. */
enum det {
	DET_SCAN,        /* closed-port scan (foundation tracker) */
	DET_BACKSCATTER, /* SYN-ACK/RST backscatter of a spoofed SYN flood */
	DET_FLOOD,       /* SYN flood against this host */
	DET_PROBE,       /* SYN carrying data */
	DET_SSH_SIG, DET_SSH_LEN, DET_RLOGIN_SIG, DET_TELNET_SIG, DET_FTP_SIG,
	DET_ROOT_SIG,    /* "# " as the server's first packet */
	DET_ROOT_SIG_WEAK, /* "# " elsewhere in a connection (config key root-sig-weak) */
	DET_NAPSTER_SIG, DET_GNUTELLA_SIG,
	DET_INTERACTIVE, /* the timing algorithm */
	DET_DSCAN,       /* closed-port scan spread over the sources of one prefix (distributed-scan) */
	DET_MANUAL,      /* a ban made by an administrator (nfsentryctl, or nft by hand) */
	DET_COUNT
};

/* The event's "detector" ("root-sig" for both root forms). */
const char *detector_name(enum det d);
/* The [detect] key and the ban table's word ("root-sig-weak" for the weak form). */
const char *detector_key(enum det d);
/* enum det by key, or -EINVAL. */
int detector_parse(const char *key);
/* The protocol a detector recognises ("ssh", "ftp/smtp", ...), or NULL. */
const char *detector_protocol(enum det d);
/* What a detector does when the config does not say (docs/detection.md). */
enum action detector_default_action(enum det d);
const char *action_name(enum action a);
/* Returns 0 or -EINVAL. */
int action_parse(const char *s, enum action *out);
