/* scan.h - what kind of scan a source's closed-port attempts are, and what backscatter
 * betrays, after Bejtlich, "Interpreting Network Traffic" (SYN, connect, FIN, NULL, XMAS, ACK
 * and combined scans; third-party effects of SYN floods; tool fingerprints). */
#pragma once

#include <stdint.h>

#include "detect/tracker.h"

/* "syn", "connect", "fin", "null", "xmas", "ack", "udp", "sctp" (nmap -sY), "proto" (nmap -sO:
 * protocols nothing on the host handles) when one kind makes at least 90% of
 * the probes, else "mixed". A SYN scan is "connect" when most SYNs carry the options an
 * operating system's connect() sends (raw-socket scanners send bare SYNs). */
const char *scan_class(const struct trk_report *r);

/* Bejtlich: acknowledgement numbers that mark a SYN flood tool whose victim's answers reach
 * us because the tool spoofed our address: 674719802 (synk4, ISN 674719801) and 674711610
 * (the tool behind the FirstClass flood; ISN 674711609). NULL when @ack is neither. */
const char *scan_backscatter_tool(uint32_t ack);
