/* test-control-dispatch.c - the control server's table of requests (control/server.c): each
 * name of control/protocol.h reaches its handler, who may ask is checked before it runs, and
 * what is not in the table is refused with a reason. control_handle() is called directly;
 * the requests chosen fail early or need nothing of the daemon, so the view is empty. */
#include <signal.h>
#include <unistd.h>

#include "control/protocol.h"
#include "control/server.h"
#include "tap.h"

static struct control *c;

/* The error of the answer to @req from @uid, @gid; "" when the answer is ok. */
static const char *ask(const char *req, uid_t uid, gid_t gid)
{
	static char msg[256];
	json_t *ans = control_handle(c, req, strlen(req), uid, gid);
	const char *e = json_string_value(json_object_get(ans, "error"));

	snprintf(msg, sizeof(msg), "%s", json_is_true(json_object_get(ans, "ok")) ? "" : e ? e : "(no error)");
	json_decref(ans);
	return msg;
}

int main(void)
{
	char dir[] = "/tmp/nfsentry-dispatch-XXXXXX", sock[64], err[256];
	struct daemon_view view = { .started = time(NULL) };
	gid_t group = getgid(); /* control_group: a group the socket may be given without root */

	CHECK(mkdtemp(dir) != NULL, "a folder");
	snprintf(sock, sizeof(sock), "%s/control.sock", dir);
	CHECK(control_open(&c, sock, group, &view, err, sizeof(err)) == 0, "control_open: %s", c ? "ok" : err);
	if (!c)
		return tap_done();

	/* Names the table knows: each reaches its own handler (these fail there, early). */
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_BAN "\"}", 0, 0), "\"address\": expected an address or prefix", "ban");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_UNBAN "\",\"address\":\"192.0.2.1/24\"}", 0, 0),
		  "\"address\": expected an address or prefix", "unban");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_BAN "\",\"address\":\"192.0.2.0/24\"}", 0, 0),
		  "IPv4 bans are single addresses", "ban checks the family");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_ALLOW "\"}", 0, 0),
		  "\"network\": expected an address or a network (host bits zero)", "allow");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_EVIDENCE "\"}", 0, 0),
		  "evidence records are off ([evidence] dir is empty or could not be used; see the log)",
		  "evidence, asked by root, reaches its handler");
	signal(SIGHUP, SIG_IGN); /* reload signals this process, as it does the daemon */
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_RELOAD "\"}", 0, 0), "", "reload");

	/* Who may ask. */
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_RELOAD "\"}", 1000, group + 1), "permission denied", "a stranger: refused");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_RELOAD "\"}", 1000, group), "", "control_group: served");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_EVIDENCE "\",\"verify\":true}", 1000, group),
		  "evidence records are readable by root only", "control_group: evidence is root's only");

	/* watch (and bans) check their request before they need the feed (the writer). */
#define ORIGIN_ERR "\"origin\": expected nfsentry, manual or crowdsec, or a list of them"
	static const struct {
		const char *req, *error, *what;
	} checked[] = {
		{ "{\"command\":\"" CTL_CMD_WATCH "\",\"from\":0}", "\"from\": expected a sequence number (1 or more)",
		  "watch: from 0" },
		{ "{\"command\":\"" CTL_CMD_WATCH "\",\"from\":\"1\"}", "\"from\": expected a sequence number (1 or more)",
		  "watch: from a string" },
		{ "{\"command\":\"" CTL_CMD_WATCH "\"}", "the ban feed is off", "watch, no feed" },
		{ "{\"command\":\"" CTL_CMD_WATCH "\",\"origin\":\"fleet\"}", ORIGIN_ERR, "watch: an unknown origin" },
		{ "{\"command\":\"" CTL_CMD_WATCH "\",\"origin\":[\"nfsentry\",7]}", ORIGIN_ERR, "watch: a list with a number" },
		{ "{\"command\":\"" CTL_CMD_WATCH "\",\"origin\":[\"nfsentry\",\"manual\"]}", "the ban feed is off",
		  "watch: a list of origins" },
		{ "{\"command\":\"" CTL_CMD_BANS "\",\"origin\":[]}", ORIGIN_ERR, "bans: an empty list" },
	};
	for (size_t i = 0; i < sizeof(checked) / sizeof(checked[0]); i++)
		CHECK_STR(ask(checked[i].req, 0, 0), checked[i].error, checked[i].what);

	/* The [fleet] group: status, bans, watch and fleet, nothing else. */
	gid_t fleet = group + 2;
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_WATCH "\"}", 1000, fleet), "permission denied",
		  "the [fleet] group before it is set: a stranger");
	CHECK(control_allow_fleet(c, fleet, err, sizeof(err)) == 0, "control_allow_fleet: %s", err);
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_WATCH "\"}", 1000, fleet), "the ban feed is off", "fleet: watch");
	static const char *const refused[] = { CTL_CMD_BAN, CTL_CMD_UNBAN, CTL_CMD_ALLOW, CTL_CMD_SOURCES,
					       CTL_CMD_FLOWS, CTL_CMD_RELOAD };
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		char req[64];
		snprintf(req, sizeof(req), "{\"command\":\"%s\"}", refused[i]);
		CHECK_STR(ask(req, 1000, fleet), "the [fleet] group may ask for status, bans, watch and fleet only",
			  refused[i]);
	}
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_EVIDENCE "\"}", 1000, fleet), "evidence records are readable by root only",
		  "fleet: evidence refused");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_WATCH "\"}", 1000, group + 1), "permission denied",
		  "another group: still a stranger");
	CHECK_STR(ask("{\"command\":\"" CTL_CMD_RELOAD "\"}", 1000, group), "", "control_group: still served in full");

	/* What the table does not hold. */
	CHECK_STR(ask("{\"command\":\"nope\"}", 0, 0), "unknown command \"nope\"", "unknown command");
	CHECK_STR(ask("{\"command\":\"Status\"}", 0, 0), "unknown command \"Status\"", "names are matched exactly");
	CHECK_STR(ask("{\"command\":7}", 0, 0), "\"command\" missing", "a command that is not a string");
	CHECK_STR(ask("{}", 0, 0), "\"command\" missing", "no command");
	CHECK_STR(ask("[]", 0, 0), "not a JSON object: wrong type", "not an object");

	control_free(c);
	rmdir(dir);
	return tap_done();
}
