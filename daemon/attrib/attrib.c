/* PLACEHOLDER written by the lead so the tree links while the attribution module is being
 * written. The attrib helper replaces this file wholesale. */
#include "attrib/attrib.h"

#include <errno.h>

int attrib_lookup(const struct attrib_socket_key *k, const struct attrib_limits *lim, json_t **out)
{
	(void)k;
	(void)lim;
	*out = NULL;
	return -ENOSYS;
}

json_t *attrib_host(void)
{
	return json_object();
}
