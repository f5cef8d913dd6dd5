/* Outbound destinations: URL parsing and the address policy for callbacks (no SSRF). */
#ifndef SB_SERVICE_CALLBACK_POLICY_H
#define SB_SERVICE_CALLBACK_POLICY_H

#include <stdbool.h>
#include <sys/socket.h>

struct http_url {
    char host[256];     /* without brackets for IPv6 */
    int port;
    char path[2048];    /* path and query, at least "/" */
};

/* Parses an absolute http:// URL. Returns 0, or -1 with a static reason in *why. */
int callback_url_parse(const char *url, struct http_url *u, const char **why);

/* Whether an address may be called back: loopback, private (RFC 1918, ULA),
 * link-local (incl. cloud metadata 169.254.169.254), CGNAT, multicast,
 * unspecified and broadcast addresses are refused unless allow_private. */
bool callback_addr_allowed(const struct sockaddr *sa, bool allow_private, const char **why);

/* For a host that is an IP literal: the same check; 1 = allowed, 0 = refused,
 * -1 = not a literal (decide after DNS). */
int callback_literal_host_allowed(const char *host, bool allow_private, const char **why);

#endif
