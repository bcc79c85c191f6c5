/* host.c - the facts STOP Table II saves with every request, rather than per process: host
 * name, boot time, operating system and kernel (Carrier & Shields, sec. 3.3). */
#include "attrib/attrib.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "attrib/clock.h"
#include "attrib/text.h"

json_t *attrib_host(void)
{
	char boot[ATTRIB_TIME_STRLEN], kernel[4 * sizeof(((struct utsname *)0)->release) + 4];
	struct utsname u;
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (uname(&u) < 0)
		memset(&u, 0, sizeof(u));
	/* As uname -srvm prints it. The kernel NUL-terminates each field; strnlen keeps that an
	 * assumption we do not depend on. */
	snprintf(kernel, sizeof(kernel), "%.*s %.*s %.*s %.*s", (int)strnlen(u.sysname, sizeof(u.sysname)), u.sysname,
		 (int)strnlen(u.release, sizeof(u.release)), u.release, (int)strnlen(u.version, sizeof(u.version)),
		 u.version, (int)strnlen(u.machine, sizeof(u.machine)), u.machine);
	if (json_object_set_new(o, "hostname", attrib_text_json(u.nodename, strnlen(u.nodename, sizeof(u.nodename)),
							   sizeof(u.nodename), NULL)) ||
	    json_object_set_new(o, "boot_time",
				json_string(attrib_clock_format(attrib_clock_boot_ns(), boot, sizeof(boot)))) ||
	    json_object_set_new(o, "kernel", attrib_text_json(kernel, strlen(kernel), sizeof(kernel), NULL))) {
		json_decref(o);
		return NULL;
	}
	return o;
}
