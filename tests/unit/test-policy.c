/* test-policy.c - actions, standard ports, the backdoor allowlist, scan classes. */
#include <errno.h>

#include "core/policy.h"
#include "detect/scan.h"
#include "tap.h"

static struct nfs_addr A(const char *s)
{
	struct nfs_addr a;
	nfs_addr_parse(s, true, &a);
	return a;
}

int main(void)
{
	struct policy p;
	char why[256];
	enum action a;

	policy_init_defaults(&p);
	CHECK(p.action[DET_SCAN] == ACTION_BAN && p.action[DET_ROOT_SIG] == ACTION_BAN &&
	      p.action[DET_ROOT_SIG_WEAK] == ACTION_ALERT && p.action[DET_SSH_SIG] == ACTION_ALERT &&
	      p.action[DET_BACKSCATTER] == ACTION_ALERT, "defaults: scan and root-sig ban, the rest alert");
	CHECK_STR(detector_name(DET_ROOT_SIG_WEAK), "root-sig", "weak root-sig reports as root-sig");
	CHECK_STR(detector_key(DET_ROOT_SIG_WEAK), "root-sig-weak", "... configured as root-sig-weak");
	CHECK(action_parse("drop", &a) == 0 && a == ACTION_DROP && action_parse("kill", &a) == -EINVAL,
	      "action names");

	CHECK(policy_port_standard(DET_SSH_SIG, 22) && !policy_port_standard(DET_SSH_SIG, 80) &&
	      !policy_port_standard(DET_SSH_SIG, 2222), "ssh: 22 only");
	CHECK(policy_port_standard(DET_FTP_SIG, 25), "ftp-sig: SMTP ports are standard (sec. 4.4)");
	CHECK(!policy_port_standard(DET_ROOT_SIG, 0) && !policy_port_standard(DET_ROOT_SIG, 23), "a root shell has no port");
	/* interactive: people's services, remote desktops among them (ranges, both ends in). */
	static const uint16_t people[] = { 21, 22, 23, 25, 110, 143, 513, 992, 1494, 3389, 5222, 5900, 5901, 5999,
					   6000, 6063, 6667, 6697 };
	static const uint16_t machines[] = { 0, 20, 24, 53, 80, 443, 3306, 5432, 5899, 6064, 6379, 8080, 20000, 65535 };
	bool all = true, none = true;
	for (size_t i = 0; i < sizeof(people) / sizeof(people[0]); i++)
		all &= policy_port_standard(DET_INTERACTIVE, people[i]);
	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++)
		none &= !policy_port_standard(DET_INTERACTIVE, machines[i]);
	CHECK(all, "interactive: logins, mail, chat, RDP 3389, VNC 5900-5999, X11 6000-6063 are standard");
	CHECK(none, "interactive: web, databases, DNP3 and the edges of the ranges are not");
	CHECK(!policy_port_standard(DET_SSH_SIG, 3389) && !policy_port_standard(DET_TELNET_SIG, 5900),
	      "the remote-desktop ports are standard for interactive only");

	struct nfs_addr cl = A("198.51.100.2"), sv = A("192.0.2.10"), other = A("203.0.113.5");
	CHECK(policy_allow_add(&p, "ssh-sig 2222 * *", why, sizeof(why)) == 0, "allow ssh-sig on 2222");
	CHECK(policy_allow_add(&p, "* 2121 192.0.2.10 198.51.100.0/24", why, sizeof(why)) == 0, "allow anything on one server");
	CHECK(policy_decide(&p, DET_SSH_SIG, &cl, &sv, 2222) == ACTION_IGNORE, "allowed: ignored");
	CHECK(policy_decide(&p, DET_SSH_SIG, &cl, &sv, 2223) == ACTION_ALERT, "other port: alert");
	CHECK(policy_decide(&p, DET_ROOT_SIG, &cl, &sv, 2121) == ACTION_IGNORE, "wildcard detector, matching networks");
	CHECK(policy_decide(&p, DET_ROOT_SIG, &other, &sv, 2121) == ACTION_BAN, "client outside the allowed network");
	CHECK(policy_allow_add(&p, "ssh-sig 2222 *", why, sizeof(why)) == -EINVAL, "three fields refused: %s", why);
	CHECK(policy_allow_add(&p, "ssh 22 * *", why, sizeof(why)) == -EINVAL && strstr(why, "detector"), "bad detector: %s", why);
	CHECK(policy_allow_add(&p, "ssh-sig 70000 * *", why, sizeof(why)) == -EINVAL, "bad port: %s", why);
	CHECK(policy_allow_add(&p, "ssh-sig 22 10.0.0.1/8 *", why, sizeof(why)) == -EINVAL, "host bits: %s", why);

	struct trk_report r = { 0 };
	r.counts[TRK_SYN] = 20;
	CHECK_STR(scan_class(&r), "syn", "bare SYNs");
	r.connect_syns = 15;
	CHECK_STR(scan_class(&r), "connect", "SYNs with OS options");
	memset(&r, 0, sizeof(r));
	r.counts[TRK_FIN] = 19, r.counts[TRK_SYN] = 1;
	CHECK_STR(scan_class(&r), "fin", "90%% FIN");
	r.counts[TRK_SYN] = 10;
	CHECK_STR(scan_class(&r), "mixed", "FIN and SYN");
	memset(&r, 0, sizeof(r));
	r.counts[TRK_XMAS] = 10, r.counts[TRK_RST] = 50;
	CHECK_STR(scan_class(&r), "xmas", "resets do not count against the class");
	memset(&r, 0, sizeof(r));
	CHECK_STR(scan_class(&r), "mixed", "nothing: mixed");
	CHECK(!strcmp(scan_backscatter_tool(674719802), "synk4") && scan_backscatter_tool(674711610) &&
	      !scan_backscatter_tool(674719801), "Bejtlich's acknowledgement numbers");
	CHECK(detector_parse("scan") == DET_SCAN && detector_parse("nope") == -EINVAL, "unknown detector: -EINVAL");
	return tap_done();
}
