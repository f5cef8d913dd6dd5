/* Egress policy: parses entries, narrows a request's list against the config, judges addresses and names. */
#include "net/policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof *(a))

/* ---- address bits ---- */

static unsigned addr_len(int family)
{
    return family == AF_INET ? 4 : 16;
}

static unsigned max_prefix(int family)
{
    return family == AF_INET ? 32 : 128;
}

/* Whether the first `bits` bits of a and b agree. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return ((a[whole] ^ b[whole]) & mask) == 0;
}

/* Whether a (len bytes) has a bit set at or after bit `from`. */
static bool bits_set_from(const uint8_t *a, unsigned from, unsigned len)
{
    for (unsigned i = from; i < len * 8; i++)
        if (a[i / 8] & (0x80 >> (i % 8)))
            return true;
    return false;
}

/*
 * IPv6 /96 prefixes whose last 32 bits reach an IPv4 address: a connection
 * there is a connection to that IPv4 address, so it is judged as one. The
 * IPv4-compatible form leaves out :: and ::1, which are IPv6's own.
 */
static const struct {
    uint8_t prefix[12];
    uint32_t min_v4;
} embeds[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 0},   /* ::ffff:0:0/96, IPv4-mapped */
    {{0, 0x64, 0xff, 0x9b}, 0},                         /* 64:ff9b::/96, NAT64 */
    {{0}, 2},                                           /* ::/96, IPv4-compatible */
};

/* Writes the address as judged to out (16 bytes); returns its family. */
static int canon(int family, const uint8_t *in, uint8_t out[16])
{
    memset(out, 0, 16);
    if (family == AF_INET6) {
        uint32_t v4 = (uint32_t)in[12] << 24 | (uint32_t)in[13] << 16 |
                      (uint32_t)in[14] << 8 | in[15];
        for (size_t i = 0; i < N_OF(embeds); i++) {
            if (memcmp(in, embeds[i].prefix, 12) == 0 && v4 >= embeds[i].min_v4) {
                memcpy(out, in + 12, 4);
                return AF_INET;
            }
        }
    }
    memcpy(out, in, addr_len(family));
    return family;
}

/* ---- reserved ranges ---- */

#define V4(t, p, ...) {.kind = NET_CIDR, .family = AF_INET, .addr = {__VA_ARGS__}, \
                       .prefix = p, .port_hi = 65535, .text = t}
#define V6(t, p, ...) {.kind = NET_CIDR, .family = AF_INET6, .addr = {__VA_ARGS__}, \
                       .prefix = p, .port_hi = 65535, .text = t}

static const struct net_entry reserved[] = {
    V4("0.0.0.0/8", 8, 0),
    V4("10.0.0.0/8", 8, 10),
    V4("100.64.0.0/10", 10, 100, 64),
    V4("127.0.0.0/8", 8, 127),
    V4("169.254.0.0/16", 16, 169, 254),
    V4("172.16.0.0/12", 12, 172, 16),
    V4("192.0.0.0/24", 24, 192, 0, 0),
    V4("192.168.0.0/16", 16, 192, 168),
    V4("198.18.0.0/15", 15, 198, 18),
    V4("224.0.0.0/4", 4, 224),
    V4("240.0.0.0/4", 4, 240),
    V6("::/128", 128, 0),
    V6("::1/128", 128, [15] = 1),
    V6("::ffff:0:0/96", 96, [10] = 0xff, [11] = 0xff),
    V6("64:ff9b::/96", 96, 0, 0x64, 0xff, 0x9b),
    V6("100::/64", 64, 0x01),
    V6("fc00::/7", 7, 0xfc),
    V6("fe80::/10", 10, 0xfe, 0x80),
    V6("fec0::/10", 10, 0xfe, 0xc0),
    V6("ff00::/8", 8, 0xff),
};

size_t net_reserved_ranges(const struct net_entry **out)
{
    *out = reserved;
    return N_OF(reserved);
}

/* Whether the CIDR entry `in` lies wholly inside the CIDR entry `out`. */
static bool cidr_inside(const struct net_entry *in, const struct net_entry *out)
{
    return in->family == out->family && in->prefix >= out->prefix &&
           bits_equal(in->addr, out->addr, out->prefix);
}

/* Whether the CIDR entry e lies wholly inside one reserved range. */
static bool inside_reserved(const struct net_entry *e)
{
    for (size_t i = 0; i < N_OF(reserved); i++)
        if (cidr_inside(e, &reserved[i]))
            return true;
    return false;
}

/* Whether an address already in judged form is reserved. */
static bool reserved_canon(int family, const uint8_t *addr)
{
    for (size_t i = 0; i < N_OF(reserved); i++)
        if (reserved[i].family == family &&
            bits_equal(addr, reserved[i].addr, reserved[i].prefix))
            return true;
    return false;
}

bool net_addr_reserved(int family, const uint8_t *addr)
{
    if (family != AF_INET && family != AF_INET6)
        return false;
    uint8_t a[16];
    int f = canon(family, addr, a);
    return reserved_canon(f, a);
}

/* ---- names ---- */

static bool why_not(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the reason to why; returns false so callers can `return why_not(...)`. */
static bool why_not(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return false;
}

/* Whether c may appear in a label; if not, describes it in why. */
static bool label_char(char c, char *why, size_t len)
{
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
        return true;
    if (c > ' ' && c < 0x7f)
        return why_not(why, len, "invalid character '%c'", c);
    return why_not(why, len, "invalid byte 0x%02x", (unsigned char)c);
}

/* Checks the labels of a lowercased name of n bytes. */
static bool labels_ok(const char *s, size_t n, char *why, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!label_char(s[i], why, len))
                return false;
            continue;
        }
        if (i == start)
            return why_not(why, len, "empty label");
        if (i - start > 63)
            return why_not(why, len, "label longer than 63 characters");
        if (s[start] == '-' || s[i - 1] == '-')
            return why_not(why, len, "a label starts or ends with '-'");
        start = i + 1;
    }
    return true;
}

/*
 * Lowercases in into out without one trailing dot and checks it is a host
 * name; if not, says why. Numeric forms are refused because resolvers read
 * "127.1" or "0x7f000001" as addresses, which a name entry must never reach.
 */
static bool name_norm(const char *in, char out[254], char *why, size_t len)
{
    size_t n = strlen(in);
    if (n > 0 && in[n - 1] == '.')
        n--;
    if (n == 0)
        return why_not(why, len, "empty name");
    if (n > 253)
        return why_not(why, len, "longer than 253 characters");
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] - 'A' + 'a') : in[i];
    out[n] = '\0';
    if (!labels_ok(out, n, why, len))
        return false;
    struct in_addr a;
    if (inet_aton(out, &a))
        return why_not(why, len, "a numeric address form (write IPv4 as a.b.c.d)");
    const char *last = strrchr(out, '.');
    last = last ? last + 1 : out;
    if (strspn(last, "0123456789") == strlen(last))
        return why_not(why, len, "the last label is all digits");
    return true;
}

bool net_name_valid(const char *name)
{
    char n[254], why[96];
    return name && name_norm(name, n, why, sizeof why);
}

/* Whether name lies strictly below suffix (a.example.com below example.com). */
static bool name_below(const char *name, const char *suffix)
{
    size_t n = strlen(name), k = strlen(suffix);
    return n > k + 1 && name[n - k - 1] == '.' && strcmp(name + n - k, suffix) == 0;
}

/* ---- parsing ---- */

static int bad(const struct net_entry *e, struct sb_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails with "\"<entry>\": <why>"; control characters show as '?' so a
 * message cannot forge log lines. */
static int bad(const struct net_entry *e, struct sb_error *err, const char *fmt, ...)
{
    char why[200], shown[sizeof e->text];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    size_t i = 0;
    for (; e->text[i] && i < sizeof shown - 1; i++) {
        unsigned char c = (unsigned char)e->text[i];
        shown[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    shown[i] = '\0';
    return sb_fail(err, SB_E_INVALID_ARGUMENT, "\"%s\": %s", shown, why);
}

/* Splits e->text into host and port (NULL: none); a '[' starts a bracketed
 * IPv6 host, and an unbracketed text with two colons is IPv6 without port. */
static int split(const struct net_entry *e, char host[300], const char **port,
                 bool *bracketed, struct sb_error *err)
{
    const char *s = e->text, *from = s, *end;
    *port = NULL;
    *bracketed = s[0] == '[';
    if (*bracketed) {
        from = s + 1;
        end = strchr(s, ']');
        if (!end)
            return bad(e, err, "missing \"]\"");
        if (end[1] == ':')
            *port = end + 2;
        else if (end[1])
            return bad(e, err, "expected \":port\" after \"]\"");
    } else {
        end = strchr(s, ':');
        if (end && !strchr(end + 1, ':'))
            *port = end + 1;
        else
            end = s + strlen(s);
    }
    memcpy(host, from, (size_t)(end - from));
    host[end - from] = '\0';
    return 0;
}

static int parse_port(struct net_entry *e, const char *p, struct sb_error *err)
{
    size_t n = strspn(p, "0123456789");
    unsigned long v = n > 0 && n <= 5 && !p[n] ? strtoul(p, NULL, 10) : 0;
    if (v < 1 || v > 65535)
        return bad(e, err, "port must be a number from 1 to 65535");
    e->port_lo = e->port_hi = (uint16_t)v;
    return 0;
}

static int parse_prefix(struct net_entry *e, const char *p, struct sb_error *err)
{
    unsigned max = max_prefix(e->family);
    size_t n = strspn(p, "0123456789");
    unsigned long v = n > 0 && n <= 3 && !p[n] ? strtoul(p, NULL, 10) : max + 1;
    if (v > max)
        return bad(e, err, "prefix length must be a number from 0 to %u", max);
    e->prefix = (uint8_t)v;
    return 0;
}

/* Stores an entry lying inside an embedding /96 as the IPv4 entry it
 * embeds, since the addresses it matches are judged as IPv4. */
static void embed_normalise(struct net_entry *e)
{
    uint8_t a[16];
    if (e->family != AF_INET6 || e->prefix < 96 || canon(AF_INET6, e->addr, a) != AF_INET)
        return;
    memcpy(e->addr, a, sizeof e->addr);
    e->family = AF_INET;
    e->prefix -= 96;
}

/* host: an address with an optional "/prefix" (modified in place). */
static int parse_cidr(struct net_entry *e, char *host, bool bracketed, struct sb_error *err)
{
    char *slash = strchr(host, '/');
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, host, e->addr) == 1) {
        if (bracketed)
            return bad(e, err, "brackets are only for IPv6 addresses");
        e->family = AF_INET;
    } else if (inet_pton(AF_INET6, host, e->addr) == 1) {
        e->family = AF_INET6;
    } else if (bracketed) {
        return bad(e, err, "not a valid IPv6 address");
    } else if (strchr(host, ':')) {
        return bad(e, err, "not a valid IPv6 address "
                           "(an IPv6 address with a port is written [address]:port)");
    } else {
        return bad(e, err, "a prefix length needs an IP address, not \"%s\"", host);
    }
    e->kind = NET_CIDR;
    e->prefix = (uint8_t)max_prefix(e->family);
    if (slash && parse_prefix(e, slash + 1, err) < 0)
        return -1;
    if (bits_set_from(e->addr, e->prefix, addr_len(e->family)))
        return bad(e, err, "host bits set beyond the /%u prefix", (unsigned)e->prefix);
    embed_normalise(e);
    return 0;
}

static int parse_name(struct net_entry *e, const char *host, struct sb_error *err)
{
    const char *name = host;
    char why[96];
    if (strcmp(host, "*") == 0 || strcmp(host, "*.") == 0)
        return bad(e, err, "a wildcard needs a suffix, as in \"*.example.com\"");
    e->kind = NET_HOST;
    if (host[0] == '*' && host[1] == '.') {
        e->kind = NET_SUFFIX;
        name = host + 2;
    }
    if (strchr(name, '*'))
        return bad(e, err, "a wildcard is only allowed as a leading \"*.\"");
    if (!name_norm(name, e->name, why, sizeof why))
        return bad(e, err, e->kind == NET_SUFFIX ? "not a valid suffix: %s"
                                                 : "not a valid IP address or host name: %s", why);
    return 0;
}

int net_entry_parse(const char *s, struct net_entry *e, struct sb_error *err)
{
    memset(e, 0, sizeof *e);
    e->port_hi = 65535;
    size_t n = strlen(s);
    if (n >= sizeof e->text) {
        snprintf(e->text, sizeof e->text, "%.40s...", s);
        return bad(e, err, "longer than %zu characters", sizeof e->text - 1);
    }
    memcpy(e->text, s, n + 1);
    if (n == 0)
        return bad(e, err, "empty entry");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return bad(e, err, "contains a space or control character");
    char host[sizeof e->text];
    const char *port;
    bool bracketed;
    if (split(e, host, &port, &bracketed, err) < 0)
        return -1;
    if (port && parse_port(e, port, err) < 0)
        return -1;
    if (!host[0])
        return bad(e, err, "missing address or host name");
    if (bracketed || strchr(host, ':') || strchr(host, '/'))
        return parse_cidr(e, host, bracketed, err);
    if (inet_pton(AF_INET, host, e->addr) == 1) {
        e->kind = NET_CIDR;
        e->family = AF_INET;
        e->prefix = 32;
        return 0;
    }
    return parse_name(e, host, err);
}

void net_entry_format(const struct net_entry *e, char *out, size_t len)
{
    char base[300], ports[16];
    if (len == 0)
        return;
    if (e->kind == NET_CIDR) {
        char a[INET6_ADDRSTRLEN] = "?";
        inet_ntop(e->family, e->addr, a, sizeof a);
        if (e->prefix < max_prefix(e->family))
            snprintf(base, sizeof base, "%s/%u", a, (unsigned)e->prefix);
        else
            snprintf(base, sizeof base, "%s", a);
    } else {
        snprintf(base, sizeof base, "%s%s", e->kind == NET_SUFFIX ? "*." : "", e->name);
    }
    if (e->port_lo == 0 && e->port_hi == 65535) {
        snprintf(out, len, "%s", base);
        return;
    }
    if (e->port_lo == e->port_hi)
        snprintf(ports, sizeof ports, "%u", (unsigned)e->port_lo);
    else
        snprintf(ports, sizeof ports, "%u-%u", (unsigned)e->port_lo, (unsigned)e->port_hi);
    bool brackets = e->kind == NET_CIDR && e->family == AF_INET6;
    snprintf(out, len, brackets ? "[%s]:%s" : "%s:%s", base, ports);
}

/* ---- policies ---- */

/* Parses n entries into a new array; messages start with "<where>: ". */
static int parse_list(struct net_entry **out, size_t *n_out, const char *const *list,
                      size_t n, const char *where, struct sb_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    struct net_entry *v = calloc(n, sizeof *v);
    if (!v)
        return sb_fail(err, SB_E_INTERNAL, "%s: out of memory", where);
    for (size_t i = 0; i < n; i++) {
        struct sb_error e2;
        if (net_entry_parse(list[i] ? list[i] : "", &v[i], &e2) < 0) {
            free(v);
            return sb_fail(err, SB_E_INVALID_ARGUMENT, "%s: %s", where, e2.msg);
        }
    }
    *out = v;
    *n_out = n;
    return 0;
}

/* A copy of n entries in *out (NULL when n is 0); -1 when out of memory. */
static int dup_list(struct net_entry **out, const struct net_entry *in, size_t n)
{
    *out = NULL;
    if (n == 0)
        return 0;
    *out = malloc(n * sizeof *in);
    if (!*out)
        return -1;
    memcpy(*out, in, n * sizeof *in);
    return 0;
}

int net_policy_build(struct net_policy *p, const char *const *allow, size_t n_allow,
                     const char *const *deny, size_t n_deny, const char *what,
                     struct sb_error *err)
{
    char where[160];
    memset(p, 0, sizeof *p);
    snprintf(where, sizeof where, "%s.allow", what ? what : "network");
    if (parse_list(&p->allow, &p->n_allow, allow, n_allow, where, err) < 0)
        return -1;
    snprintf(where, sizeof where, "%s.deny", what ? what : "network");
    if (parse_list(&p->deny, &p->n_deny, deny, n_deny, where, err) < 0) {
        net_policy_free(p);
        return -1;
    }
    return 0;
}

void net_policy_free(struct net_policy *p)
{
    free(p->allow);
    free(p->deny);
    memset(p, 0, sizeof *p);
}

int net_policy_copy(struct net_policy *dst, const struct net_policy *src,
                    struct sb_error *err)
{
    memset(dst, 0, sizeof *dst);
    if (dup_list(&dst->allow, src->allow, src->n_allow) < 0 ||
        dup_list(&dst->deny, src->deny, src->n_deny) < 0) {
        net_policy_free(dst);
        return sb_fail(err, SB_E_INTERNAL, "network policy: out of memory");
    }
    dst->n_allow = src->n_allow;
    dst->n_deny = src->n_deny;
    return 0;
}

/* ---- narrowing ---- */

static bool ports_inside(const struct net_entry *in, const struct net_entry *out)
{
    return in->port_lo >= out->port_lo && in->port_hi <= out->port_hi;
}

/* Whether config entry c lets through everything the requested r does. A
 * reserved range is reached only through an entry that lies inside one
 * (see net_policy_check_addr), so r inside one needs such a c too. */
static bool covers(const struct net_entry *c, const struct net_entry *r)
{
    if (!ports_inside(r, c) || (c->kind == NET_CIDR) != (r->kind == NET_CIDR))
        return false;
    switch (r->kind) {
    case NET_CIDR:
        return cidr_inside(r, c) && (!inside_reserved(r) || inside_reserved(c));
    case NET_HOST:
        return c->kind == NET_HOST ? strcmp(c->name, r->name) == 0
                                   : name_below(r->name, c->name);
    case NET_SUFFIX:
        return c->kind == NET_SUFFIX &&
               (strcmp(c->name, r->name) == 0 || name_below(r->name, c->name));
    }
    return false;
}

/* Whether c lists r's single address itself, so that r may reach it even
 * when it is one of the host's. */
static bool lists_exactly(const struct net_entry *c, const struct net_entry *r)
{
    return c->kind == NET_CIDR && r->kind == NET_CIDR && !c->no_host &&
           c->family == r->family && c->prefix == max_prefix(c->family) &&
           r->prefix == c->prefix && memcmp(c->addr, r->addr, addr_len(c->family)) == 0 &&
           ports_inside(r, c);
}

/* Whether cfg covers r; sets r->no_host unless the config lists r exactly. */
static bool covered(const struct net_policy *cfg, struct net_entry *r)
{
    bool ok = false, exact = false;
    for (size_t i = 0; i < cfg->n_allow; i++) {
        ok = ok || covers(&cfg->allow[i], r);
        exact = exact || lists_exactly(&cfg->allow[i], r);
    }
    r->no_host = r->kind == NET_CIDR && r->prefix == max_prefix(r->family) && !exact;
    return ok;
}

int net_policy_narrow(const struct net_policy *cfg, const char *const *req_allow, size_t n,
                      struct net_policy *out, struct sb_error *err)
{
    struct net_policy tmp = {0};
    memset(out, 0, sizeof *out);
    if (n == 0)
        return net_policy_copy(out, cfg, err);
    if (parse_list(&tmp.allow, &tmp.n_allow, req_allow, n, "network.allow", err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!covered(cfg, &tmp.allow[i])) {
            sb_fail(err, SB_E_INVALID_ARGUMENT,
                    "network.allow: \"%s\" is not allowed by the server's network policy",
                    tmp.allow[i].text);
            goto fail;
        }
    }
    if (dup_list(&tmp.deny, cfg->deny, cfg->n_deny) < 0) {
        sb_fail(err, SB_E_INTERNAL, "network policy: out of memory");
        goto fail;
    }
    tmp.n_deny = cfg->n_deny;
    *out = tmp;
    return 0;
fail:
    net_policy_free(&tmp);
    return -1;
}

/* ---- verdicts ---- */

/* Whether CIDR entry e matches an address in judged form and port. */
static bool cidr_matches(const struct net_entry *e, int family, const uint8_t *addr,
                         uint16_t port)
{
    return e->kind == NET_CIDR && e->family == family && port >= e->port_lo &&
           port <= e->port_hi && bits_equal(e->addr, addr, e->prefix);
}

/* Whether an address in judged form is one of the host's. */
static bool is_host_addr(const struct net_hostaddrs *h, int family, const uint8_t *addr)
{
    for (size_t i = 0; h && i < h->n && i < N_OF(h->a); i++) {
        uint8_t a[16];
        if (h->a[i].family != AF_INET && h->a[i].family != AF_INET6)
            continue;
        if (canon(h->a[i].family, h->a[i].addr, a) == family &&
            memcmp(a, addr, addr_len(family)) == 0)
            return true;
    }
    return false;
}

/* Whether allow entry e, matching an address, names it on purpose: a range
 * inside a reserved one, or exactly that address of the host (0.0.0.0/0
 * means "the internet", not "the host and its networks"). */
static bool lists_explicitly(const struct net_entry *e, bool host_addr)
{
    if (inside_reserved(e))
        return true;
    return host_addr && e->prefix == max_prefix(e->family) && !e->no_host;
}

enum net_verdict net_policy_check_addr(const struct net_policy *p, int family,
                                       const uint8_t *addr, uint16_t port,
                                       const struct net_hostaddrs *host)
{
    if (family != AF_INET && family != AF_INET6)
        return NET_NOT_ALLOWED;
    uint8_t a[16];
    int f = canon(family, addr, a);
    for (size_t i = 0; i < p->n_deny; i++)
        if (cidr_matches(&p->deny[i], f, a, port))
            return NET_DENIED;
    bool host_addr = is_host_addr(host, f, a);
    for (size_t i = 0; i < p->n_allow; i++)
        if (cidr_matches(&p->allow[i], f, a, port) && lists_explicitly(&p->allow[i], host_addr))
            return NET_ALLOW;
    if (reserved_canon(f, a))
        return NET_RESERVED;
    if (host_addr)
        return NET_HOST_ADDR;
    for (size_t i = 0; i < p->n_allow; i++)
        if (cidr_matches(&p->allow[i], f, a, port))
            return NET_ALLOW;
    return NET_NOT_ALLOWED;
}

static bool name_matches(const struct net_entry *e, const char *name)
{
    if (e->kind == NET_HOST)
        return strcmp(e->name, name) == 0;
    return e->kind == NET_SUFFIX && name_below(name, e->name);
}

/* Adds lo..hi to the sorted set, merging overlapping or adjacent ranges;
 * past 16 ranges the set becomes every port, which still holds them all. */
static void ports_add(struct net_ports *ps, unsigned lo, unsigned hi)
{
    struct { unsigned lo, hi; } r[N_OF(ps->r) + 1];
    size_t n = 0, m = 0;
    for (size_t i = 0; i < ps->n && ps->r[i].lo <= lo; i++, n++) {
        r[n].lo = ps->r[i].lo;
        r[n].hi = ps->r[i].hi;
    }
    r[n].lo = lo;
    r[n].hi = hi;
    for (size_t i = n++; i < ps->n; i++, n++) {
        r[n].lo = ps->r[i].lo;
        r[n].hi = ps->r[i].hi;
    }
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && r[i].lo <= r[m - 1].hi + 1) {
            if (r[i].hi > r[m - 1].hi)
                r[m - 1].hi = r[i].hi;
        } else {
            r[m++] = r[i];
        }
    }
    if (m > N_OF(ps->r)) {
        m = 1;
        r[0].lo = 0;
        r[0].hi = 65535;
    }
    for (size_t i = 0; i < m; i++) {
        ps->r[i].lo = (uint16_t)r[i].lo;
        ps->r[i].hi = (uint16_t)r[i].hi;
    }
    ps->n = m;
}

int net_policy_check_name(const struct net_policy *p, const char *name,
                          struct net_ports *ports)
{
    struct net_ports scratch;
    struct net_ports *ps = ports ? ports : &scratch;
    char n[254], why[96];
    ps->n = 0;
    if (!name || !name_norm(name, n, why, sizeof why))
        return 0;
    for (size_t i = 0; i < p->n_deny; i++)
        if (name_matches(&p->deny[i], n))
            return 0;
    for (size_t i = 0; i < p->n_allow; i++)
        if (name_matches(&p->allow[i], n))
            ports_add(ps, p->allow[i].port_lo, p->allow[i].port_hi);
    return ps->n > 0;
}

/* ---- host addresses ---- */

/* Adds an address unless present; -1 when the list is full. */
static int hostaddr_add(struct net_hostaddrs *h, int family, const void *addr)
{
    unsigned len = addr_len(family);
    for (size_t i = 0; i < h->n; i++)
        if (h->a[i].family == family && memcmp(h->a[i].addr, addr, len) == 0)
            return 0;
    if (h->n == N_OF(h->a))
        return -1;
    h->a[h->n].family = family;
    memset(h->a[h->n].addr, 0, sizeof h->a[h->n].addr);
    memcpy(h->a[h->n].addr, addr, len);
    h->n++;
    return 0;
}

int net_hostaddrs_load(struct net_hostaddrs *h)
{
    struct ifaddrs *list;
    int full = 0;
    h->n = 0;
    if (getifaddrs(&list) < 0)
        return -1;
    for (struct ifaddrs *i = list; i && !full; i = i->ifa_next) {
        if (!i->ifa_addr)
            continue;
        if (i->ifa_addr->sa_family == AF_INET)
            full = hostaddr_add(h, AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr);
        else if (i->ifa_addr->sa_family == AF_INET6)
            full = hostaddr_add(h, AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
    }
    freeifaddrs(list);
    if (full) {
        h->n = 0;
        errno = E2BIG;
        return -1;
    }
    return (int)h->n;
}
