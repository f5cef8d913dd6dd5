/* URL parsing and address classification for outbound callbacks. */
#include "service/callback_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int callback_url_parse(const char *url, struct http_url *u, const char **why)
{
    memset(u, 0, sizeof *u);
    if (strncasecmp(url, "http://", 7) != 0) {
        *why = strncasecmp(url, "https://", 8) == 0
                   ? "https callbacks are not supported yet: use an http:// URL"
                   : "must be an absolute http:// URL";
        return -1;
    }
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            *why = "contains spaces or control characters";
            return -1;
        }
    const char *h = url + 7;
    const char *end = h + strcspn(h, "/?#");
    if (memchr(h, '@', (size_t)(end - h))) {
        *why = "credentials in the URL are not allowed";
        return -1;
    }
    const char *port = NULL;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb || (size_t)(rb - h - 1) >= sizeof u->host) {
            *why = "bad IPv6 literal";
            return -1;
        }
        memcpy(u->host, h + 1, (size_t)(rb - h - 1));
        if (rb + 1 < end && rb[1] == ':')
            port = rb + 2;
        else if (rb + 1 != end) {
            *why = "bad host";
            return -1;
        }
    } else {
        const char *colon = memchr(h, ':', (size_t)(end - h));
        const char *hend = colon ? colon : end;
        if (hend == h || (size_t)(hend - h) >= sizeof u->host) {
            *why = "missing or overlong host";
            return -1;
        }
        memcpy(u->host, h, (size_t)(hend - h));
        for (char *c = u->host; *c; c++) {
            if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') {
                *why = "bad character in host";
                return -1;
            }
            *c = (char)tolower((unsigned char)*c);
        }
        if (colon)
            port = colon + 1;
    }
    u->port = 80;
    if (port) {
        char *e;
        long p = strtol(port, &e, 10);
        if (e != end || p < 1 || p > 65535 || port == end) {
            *why = "bad port";
            return -1;
        }
        u->port = (int)p;
    }
    const char *rest = end;
    if (*rest == '#')
        rest = "";
    size_t hash = strcspn(rest, "#");
    if (hash + 2 > sizeof u->path) {
        *why = "path is too long";
        return -1;
    }
    snprintf(u->path, sizeof u->path, "%s%.*s", *rest == '/' ? "" : "/", (int)hash, rest);
    return 0;
}

static bool v4_refused(uint32_t a, const char **why)
{
    static const struct { uint32_t net, mask; const char *why; } bad[] = {
        {0x00000000, 0xff000000, "unspecified address"},
        {0x0a000000, 0xff000000, "private address"},
        {0x64400000, 0xffc00000, "carrier-grade NAT address"},
        {0x7f000000, 0xff000000, "loopback address"},
        {0xa9fe0000, 0xffff0000, "link-local address (cloud metadata)"},
        {0xac100000, 0xfff00000, "private address"},
        {0xc0000000, 0xffffff00, "IETF protocol address"},
        {0xc0a80000, 0xffff0000, "private address"},
        {0xc6120000, 0xfffe0000, "benchmark network address"},
        {0xe0000000, 0xf0000000, "multicast address"},
        {0xf0000000, 0xf0000000, "reserved or broadcast address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if ((a & bad[i].mask) == bad[i].net) {
            *why = bad[i].why;
            return true;
        }
    return false;
}

bool callback_addr_allowed(const struct sockaddr *sa, bool allow_private, const char **why)
{
    *why = NULL;
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return allow_private || !v4_refused(a, why);
    }
    if (sa->sa_family != AF_INET6) {
        *why = "not an IP address";
        return false;
    }
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
        uint32_t v4;
        memcpy(&v4, &a->s6_addr[12], 4);
        return allow_private || !v4_refused(ntohl(v4), why);
    }
    if (allow_private)
        return true;
    if (IN6_IS_ADDR_UNSPECIFIED(a))
        *why = "unspecified address";
    else if (IN6_IS_ADDR_LOOPBACK(a))
        *why = "loopback address";
    else if (IN6_IS_ADDR_LINKLOCAL(a))
        *why = "link-local address";
    else if (IN6_IS_ADDR_MULTICAST(a))
        *why = "multicast address";
    else if ((a->s6_addr[0] & 0xfe) == 0xfc)
        *why = "unique local (private) address";
    else if (a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x02)
        *why = "6to4 address";
    else if (a->s6_addr[0] == 0x00 && a->s6_addr[1] == 0x64 && a->s6_addr[2] == 0xff &&
             a->s6_addr[3] == 0x9b)
        *why = "NAT64 address";
    return *why == NULL;
}

int callback_literal_host_allowed(const char *host, bool allow_private, const char **why)
{
    /* A union, so the family written through one view is read through another. */
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
        struct sockaddr_storage ss;
    } a;
    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, host, &a.v4.sin_addr) == 1)
        a.v4.sin_family = AF_INET;
    else if (inet_pton(AF_INET6, host, &a.v6.sin6_addr) == 1)
        a.v6.sin6_family = AF_INET6;
    else
        return -1;
    return callback_addr_allowed(&a.sa, allow_private, why) ? 1 : 0;
}
