/* cmd-evidence.c - evidence TOKEN [--pcap FILE]: the record behind an event, checked by
 * the daemon, printed, its packets written as a pcap file; evidence --verify: every record
 * and the chain that links them (docs/evidence.md). Root only, on the daemon's side. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/protocol.h"
#include "ctl.h"
#include "evidence/recpcap.h"
#include "table.h"

static int build_evidence(int argc, char **argv, struct ctl_args *a, json_t *req)
{
	static const char use[] = "evidence TOKEN [--pcap FILE] | evidence --verify";
	const char *token = NULL;
	bool verify = false;
	json_t *t;

	for (int i = 1; i < argc; i++) {
		if (ctl_take_option(argc, argv, &i, "--pcap", &a->pcap)) {
			if (!a->pcap || !a->pcap[0])
				return ctl_bad_usage(use, "evidence: --pcap needs a FILE");
		} else if (!strcmp(argv[i], "--verify")) {
			verify = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return ctl_bad_usage(use, "evidence: unknown option '%s'", argv[i]);
		} else if (!token) {
			token = argv[i];
		} else {
			return ctl_bad_usage(use, "evidence: unexpected argument '%s'", argv[i]);
		}
	}
	if (verify) {
		if (token || a->pcap)
			return ctl_bad_usage(use, "evidence: --verify takes no TOKEN and no --pcap");
		json_object_set_new(req, "verify", json_true());
		return 0;
	}
	if (!token || !token[0])
		return ctl_bad_usage(use, "evidence: missing TOKEN");
	t = json_string(token);
	if (!t)
		return ctl_bad_usage(use, "evidence: TOKEN is not valid UTF-8");
	json_object_set_new(req, "token", t);
	return 0;
}

/* The packets of a record (base64 of a pcap file, docs/evidence.md) into @path, mode 0600:
 * they are the attacker's bytes and this host's, not for everyone. */
static int write_pcap(json_t *record, const char *path)
{
	json_t *packets = json_object_get(record, "packets");
	unsigned char *bin;
	size_t len = 0;
	int fd, r;

	if (!json_is_string(json_object_get(packets, "pcap"))) {
		fprintf(stderr, "%s: the record holds no packets; %s not written\n", CTL_PROG, path);
		return EXIT_FAILED;
	}
	r = record_pcap_decode(packets, &bin, &len); /* the daemon's own reader */
	if (r < 0) {
		fprintf(stderr, "%s: the record's packets are %s; %s not written\n", CTL_PROG,
			r == -EBADMSG ? "too short for a pcap file" : r == -ENOMEM ? "too big for memory" : "not base64",
			path);
		return EXIT_FAILED;
	}
	r = 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, bin, len) != (ssize_t)len || close(fd) < 0) {
		fprintf(stderr, "%s: %s: %s\n", CTL_PROG, path, strerror(errno));
		r = EXIT_FAILED;
	} else {
		fprintf(stderr, "%s: wrote %zu bytes of packets to %s\n", CTL_PROG, len, path);
	}
	free(bin);
	return r;
}

/* --json: the packets are written as in text mode, once the answer was printed. */
static int json_pcap(json_t *ans, const struct ctl_args *a)
{
	return a->pcap ? write_pcap(json_object_get(ans, "record"), a->pcap) : 0;
}

static int print_verify(json_t *ans)
{
	json_t *problems = json_object_get(ans, "problems"), *p;
	uint64_t n = 0, bytes = 0;
	char a[CELL_MAX];
	size_t i;

	fmt_get_u64(ans, "records", &n);
	fmt_get_u64(ans, "bytes", &bytes);
	fmt_value(a, sizeof(a), json_object_get(ans, "anchor"));
	printf("%" PRIu64 " records, %" PRIu64 " bytes; the chain starts after %s\n", n, bytes,
	       json_is_null(json_object_get(ans, "anchor")) ? "nothing (no record was removed)" : a);
	json_array_foreach(problems, i, p) {
		char tok[CELL_MAX], why[512];
		fmt_value(tok, sizeof(tok), json_object_get(p, "token"));
		fmt_printable(why, sizeof(why), json_string_value(json_object_get(p, "problem")));
		printf("seq %" PRIu64 "  %s  %s\n", (uint64_t)json_integer_value(json_object_get(p, "seq")), tok, why);
	}
	printf("%s\n", json_array_size(problems) ? "NOT INTACT" : "intact");
	return json_array_size(problems) ? EXIT_FAILED : 0;
}

static int print_evidence(json_t *ans, const struct ctl_args *args)
{
	json_t *rec = json_object_get(ans, "record"), *chain = json_object_get(ans, "chain");
	bool intact = json_is_true(json_object_get(ans, "intact"));
	char v[CELL_MAX];
	int r = intact ? 0 : EXIT_FAILED;

	if (json_object_get(ans, "problems"))
		return print_verify(ans);
	fmt_value(v, sizeof(v), json_object_get(ans, "token"));
	printf("token     %s\n", v);
	fmt_value(v, sizeof(v), json_object_get(ans, "state"));
	printf("record    %s", v);
	if (json_is_string(json_object_get(ans, "actual"))) {
		fmt_value(v, sizeof(v), json_object_get(ans, "actual"));
		printf(": its bytes now hash to %s", v);
	}
	putchar('\n');
	if (json_is_string(chain)) {
		char why[512];
		fmt_printable(why, sizeof(why), json_string_value(chain));
		printf("chain     BROKEN: %s\n", why);
	} else {
		printf("chain     linked to the records before and after it\n");
	}
	printf("verdict   %s\n\n", intact ? "intact" : "NOT INTACT: do not trust this record");
	if (args->pcap && r == 0)
		r = write_pcap(rec, args->pcap);
	else if (args->pcap && write_pcap(rec, args->pcap) == 0)
		fprintf(stderr, "%s: %s holds the packets of a record that is not intact\n", CTL_PROG, args->pcap);
	/* The record, without the base64 of its packets (that is what --pcap is for). */
	json_t *shown = json_deep_copy(rec);
	json_t *pk = json_object_get(shown, "packets");
	if (json_is_object(pk) && json_object_get(pk, "pcap"))
		json_object_set_new(pk, "pcap", json_string("(base64 pcap: use --pcap FILE)"));
	char *s = json_dumps(shown ? shown : rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(shown);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
		return EXIT_FAILED;
	}
	printf("%s\n", s);
	free(s);
	return r;
}

const struct ctl_command ctl_evidence = { CTL_CMD_EVIDENCE, build_evidence, print_evidence, json_pcap, NULL };
