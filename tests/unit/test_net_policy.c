/* Unit tests for src/net/policy.c: entry syntax, narrowing, address and name verdicts. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "net/policy.h"

/* A string list and its length, for the list arguments. */
#define LIST(...) (const char *const[]){__VA_ARGS__}, \
                  sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)
#define NONE NULL, 0

static struct net_entry parse_ok(const char *s)
{
    struct net_entry e;
    struct sb_error err = {0};
    cr_assert_eq(net_entry_parse(s, &e, &err), 0, "%s: %s", s, err.msg);
    return e;
}

static void reject(const char *s, const char *msg)
{
    struct net_entry e;
    struct sb_error err = {0};
    cr_assert_eq(net_entry_parse(s, &e, &err), -1, "%s parsed", s);
    cr_assert_eq(err.code, SB_E_INVALID_ARGUMENT);
    cr_assert_str_eq(err.msg, msg);
}

static char *fmt(const struct net_entry *e)
{
    static char buf[320];
    net_entry_format(e, buf, sizeof buf);
    return buf;
}

static bool same_entry(const struct net_entry *a, const struct net_entry *b)
{
    return a->kind == b->kind && a->family == b->family &&
           memcmp(a->addr, b->addr, sizeof a->addr) == 0 && a->prefix == b->prefix &&
           strcmp(a->name, b->name) == 0 && a->port_lo == b->port_lo &&
           a->port_hi == b->port_hi;
}

static struct net_policy policy(const char *const *allow, size_t na,
                                const char *const *deny, size_t nd)
{
    struct net_policy p;
    struct sb_error err = {0};
    cr_assert_eq(net_policy_build(&p, allow, na, deny, nd, "sandbox.network", &err), 0,
                 "%s", err.msg);
    return p;
}

/* The family of text (an IPv4 or IPv6 literal), its bytes in addr. */
static int ip(const char *text, uint8_t addr[16])
{
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, text, addr) == 1)
        return AF_INET;
    cr_assert_eq(inet_pton(AF_INET6, text, addr), 1, "%s", text);
    return AF_INET6;
}

static enum net_verdict check(const struct net_policy *p, const char *addr, uint16_t port,
                              const struct net_hostaddrs *h)
{
    uint8_t a[16];
    int f = ip(addr, a);
    return net_policy_check_addr(p, f, a, port, h);
}

static void host_add(struct net_hostaddrs *h, const char *addr)
{
    h->a[h->n].family = ip(addr, h->a[h->n].addr);
    h->n++;
}

/* ---- parsing ---- */

Test(net_policy, parses_each_form_to_its_canonical_text)
{
    static const struct {
        const char *in, *canon;
        enum net_kind kind;
        int family;
        unsigned prefix, lo, hi;
        const char *name;
    } t[] = {
        {"203.0.113.0/24", "203.0.113.0/24", NET_CIDR, AF_INET, 24, 0, 65535, ""},
        {"192.0.2.10", "192.0.2.10", NET_CIDR, AF_INET, 32, 0, 65535, ""},
        {"192.0.2.10/32", "192.0.2.10", NET_CIDR, AF_INET, 32, 0, 65535, ""},
        {"0.0.0.0/0", "0.0.0.0/0", NET_CIDR, AF_INET, 0, 0, 65535, ""},
        {"192.0.2.10:80", "192.0.2.10:80", NET_CIDR, AF_INET, 32, 80, 80, ""},
        {"203.0.113.0/24:443", "203.0.113.0/24:443", NET_CIDR, AF_INET, 24, 443, 443, ""},
        {"192.0.2.10:1", "192.0.2.10:1", NET_CIDR, AF_INET, 32, 1, 1, ""},
        {"192.0.2.10:65535", "192.0.2.10:65535", NET_CIDR, AF_INET, 32, 65535, 65535, ""},
        {"2001:db8::/32", "2001:db8::/32", NET_CIDR, AF_INET6, 32, 0, 65535, ""},
        {"2001:DB8::1", "2001:db8::1", NET_CIDR, AF_INET6, 128, 0, 65535, ""},
        {"2001:db8::1/128", "2001:db8::1", NET_CIDR, AF_INET6, 128, 0, 65535, ""},
        {"::/0", "::/0", NET_CIDR, AF_INET6, 0, 0, 65535, ""},
        {"::1", "::1", NET_CIDR, AF_INET6, 128, 0, 65535, ""},
        {"::", "::", NET_CIDR, AF_INET6, 128, 0, 65535, ""},
        {"[2001:db8::1]:443", "[2001:db8::1]:443", NET_CIDR, AF_INET6, 128, 443, 443, ""},
        {"[2001:db8::/32]:443", "[2001:db8::/32]:443", NET_CIDR, AF_INET6, 32, 443, 443, ""},
        {"[2001:db8::1]", "2001:db8::1", NET_CIDR, AF_INET6, 128, 0, 65535, ""},
        /* embedded IPv4 forms are stored as the IPv4 entry */
        {"::ffff:10.1.2.3", "10.1.2.3", NET_CIDR, AF_INET, 32, 0, 65535, ""},
        {"[::ffff:203.0.113.0/120]:443", "203.0.113.0/24:443", NET_CIDR, AF_INET, 24, 443, 443, ""},
        {"64:ff9b::a00:1", "10.0.0.1", NET_CIDR, AF_INET, 32, 0, 65535, ""},
        {"64:ff9b::/96", "0.0.0.0/0", NET_CIDR, AF_INET, 0, 0, 65535, ""},
        {"::a00:1", "10.0.0.1", NET_CIDR, AF_INET, 32, 0, 65535, ""},
        {"::/96", "::/96", NET_CIDR, AF_INET6, 96, 0, 65535, ""},
        {"example.com", "example.com", NET_HOST, 0, 0, 0, 65535, "example.com"},
        {"Example.COM.", "example.com", NET_HOST, 0, 0, 0, 65535, "example.com"},
        {"pypi.org", "pypi.org", NET_HOST, 0, 0, 0, 65535, "pypi.org"},
        {"example.com:8080", "example.com:8080", NET_HOST, 0, 0, 8080, 8080, "example.com"},
        {"localhost", "localhost", NET_HOST, 0, 0, 0, 65535, "localhost"},
        {"xn--bcher-kva.a-b.c0.io", "xn--bcher-kva.a-b.c0.io", NET_HOST, 0, 0, 0, 65535,
         "xn--bcher-kva.a-b.c0.io"},
        {"123.com", "123.com", NET_HOST, 0, 0, 0, 65535, "123.com"},
        {"*.example.com", "*.example.com", NET_SUFFIX, 0, 0, 0, 65535, "example.com"},
        {"*.Example.com.", "*.example.com", NET_SUFFIX, 0, 0, 0, 65535, "example.com"},
        {"*.example.com:443", "*.example.com:443", NET_SUFFIX, 0, 0, 443, 443, "example.com"},
        {"*.com", "*.com", NET_SUFFIX, 0, 0, 0, 65535, "com"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        struct net_entry e = parse_ok(t[i].in);
        cr_assert_eq(e.kind, t[i].kind, "%s", t[i].in);
        cr_assert_eq(e.family, t[i].family, "%s", t[i].in);
        cr_assert_eq(e.prefix, t[i].prefix, "%s", t[i].in);
        cr_assert_eq(e.port_lo, t[i].lo, "%s", t[i].in);
        cr_assert_eq(e.port_hi, t[i].hi, "%s", t[i].in);
        cr_assert_str_eq(e.name, t[i].name, "%s", t[i].in);
        cr_assert_str_eq(e.text, t[i].in);
        cr_assert_str_eq(fmt(&e), t[i].canon, "%s", t[i].in);
        struct net_entry again = parse_ok(t[i].canon);
        cr_assert(same_entry(&e, &again), "%s does not round-trip", t[i].in);
    }
}

Test(net_policy, stores_addresses_in_network_order)
{
    struct net_entry e = parse_ok("203.0.113.0/24");
    cr_assert_eq(memcmp(e.addr, (uint8_t[16]){203, 0, 113}, 16), 0);
    e = parse_ok("[2001:db8::/32]:443");
    cr_assert_eq(memcmp(e.addr, (uint8_t[16]){0x20, 0x01, 0x0d, 0xb8}, 16), 0);
    e = parse_ok("::ffff:10.1.2.3");
    cr_assert_eq(memcmp(e.addr, (uint8_t[16]){10, 1, 2, 3}, 16), 0);
}

Test(net_policy, accepts_names_at_the_length_limits)
{
    char label[64], name[300];
    memset(label, 'a', 63);
    label[63] = '\0';
    cr_assert_str_eq(parse_ok(label).name, label);
    /* 63 + 1 + 63 + 1 + 63 + 1 + 61 = 253 */
    snprintf(name, sizeof name, "%s.%s.%s.%.61s", label, label, label, label);
    cr_assert_eq(strlen(name), 253);
    cr_assert_eq(parse_ok(name).kind, NET_HOST);
    strcat(name, ".");
    cr_assert_eq(strlen(parse_ok(name).name), 253);
}

Test(net_policy, rejects_each_invalid_form_naming_it)
{
    static const struct { const char *in, *msg; } t[] = {
        {"", "\"\": empty entry"},
        {"*", "\"*\": a wildcard needs a suffix, as in \"*.example.com\""},
        {"*.", "\"*.\": a wildcard needs a suffix, as in \"*.example.com\""},
        {"a.*.b", "\"a.*.b\": a wildcard is only allowed as a leading \"*.\""},
        {"**.x", "\"**.x\": a wildcard is only allowed as a leading \"*.\""},
        {"*.*.x", "\"*.*.x\": a wildcard is only allowed as a leading \"*.\""},
        {"*x.com", "\"*x.com\": a wildcard is only allowed as a leading \"*.\""},
        {"*..", "\"*..\": not a valid suffix: empty name"},
        {"exa mple.com", "\"exa mple.com\": contains a space or control character"},
        {" example.com", "\" example.com\": contains a space or control character"},
        {"example.com\n", "\"example.com?\": contains a space or control character"},
        {"a\tb", "\"a?b\": contains a space or control character"},
        {"192.0.2.0/33", "\"192.0.2.0/33\": prefix length must be a number from 0 to 32"},
        {"192.0.2.0/", "\"192.0.2.0/\": prefix length must be a number from 0 to 32"},
        {"192.0.2.0/x", "\"192.0.2.0/x\": prefix length must be a number from 0 to 32"},
        {"192.0.2.0/-1", "\"192.0.2.0/-1\": prefix length must be a number from 0 to 32"},
        {"192.0.2.0/0024", "\"192.0.2.0/0024\": prefix length must be a number from 0 to 32"},
        {"2001:db8::/129", "\"2001:db8::/129\": prefix length must be a number from 0 to 128"},
        {"192.0.2.1/24", "\"192.0.2.1/24\": host bits set beyond the /24 prefix"},
        {"11.0.0.0/7", "\"11.0.0.0/7\": host bits set beyond the /7 prefix"},
        {"0.0.0.1/0", "\"0.0.0.1/0\": host bits set beyond the /0 prefix"},
        {"2001:db8::1/32", "\"2001:db8::1/32\": host bits set beyond the /32 prefix"},
        {"[2001:db8::1/64]:443", "\"[2001:db8::1/64]:443\": host bits set beyond the /64 prefix"},
        {"192.0.2.10:0", "\"192.0.2.10:0\": port must be a number from 1 to 65535"},
        {"192.0.2.10:65536", "\"192.0.2.10:65536\": port must be a number from 1 to 65535"},
        {"192.0.2.10:123456", "\"192.0.2.10:123456\": port must be a number from 1 to 65535"},
        {"example.com:http", "\"example.com:http\": port must be a number from 1 to 65535"},
        {"example.com:", "\"example.com:\": port must be a number from 1 to 65535"},
        {"example.com:+80", "\"example.com:+80\": port must be a number from 1 to 65535"},
        {"*.example.com:-1", "\"*.example.com:-1\": port must be a number from 1 to 65535"},
        {"[2001:db8::1]:0", "\"[2001:db8::1]:0\": port must be a number from 1 to 65535"},
        {"[2001:db8::1]:", "\"[2001:db8::1]:\": port must be a number from 1 to 65535"},
        {"[2001:db8::1", "\"[2001:db8::1\": missing \"]\""},
        {"[2001:db8::1]443", "\"[2001:db8::1]443\": expected \":port\" after \"]\""},
        {"[192.0.2.10]:80", "\"[192.0.2.10]:80\": brackets are only for IPv6 addresses"},
        {"[example.com]", "\"[example.com]\": not a valid IPv6 address"},
        {"[]:80", "\"[]:80\": missing address or host name"},
        {"2001:db8::zz", "\"2001:db8::zz\": not a valid IPv6 address "
                         "(an IPv6 address with a port is written [address]:port)"},
        {"2001:db8::1:99999", "\"2001:db8::1:99999\": not a valid IPv6 address "
                              "(an IPv6 address with a port is written [address]:port)"},
        {"example.com/24", "\"example.com/24\": a prefix length needs an IP address, "
                           "not \"example.com\""},
        {":80", "\":80\": missing address or host name"},
        {"exa_mple.com", "\"exa_mple.com\": not a valid IP address or host name: "
                         "invalid character '_'"},
        {"ex\xc3\xa4mple.com", "\"ex\xc3\xa4mple.com\": not a valid IP address or host name: "
                               "invalid byte 0xc3"},
        {"a..b", "\"a..b\": not a valid IP address or host name: empty label"},
        {".a", "\".a\": not a valid IP address or host name: empty label"},
        {"a.com..", "\"a.com..\": not a valid IP address or host name: empty label"},
        {"-a.com", "\"-a.com\": not a valid IP address or host name: "
                   "a label starts or ends with '-'"},
        {"a-.com", "\"a-.com\": not a valid IP address or host name: "
                   "a label starts or ends with '-'"},
        {"127.1", "\"127.1\": not a valid IP address or host name: "
                  "a numeric address form (write IPv4 as a.b.c.d)"},
        {"0x7f000001", "\"0x7f000001\": not a valid IP address or host name: "
                       "a numeric address form (write IPv4 as a.b.c.d)"},
        {"192.0.2.010", "\"192.0.2.010\": not a valid IP address or host name: "
                        "a numeric address form (write IPv4 as a.b.c.d)"},
        {"1.2.3.4.5", "\"1.2.3.4.5\": not a valid IP address or host name: "
                      "the last label is all digits"},
        {"192.0.2.10.", "\"192.0.2.10.\": not a valid IP address or host name: "
                        "a numeric address form (write IPv4 as a.b.c.d)"},
        {"*.127.1", "\"*.127.1\": not a valid suffix: "
                    "a numeric address form (write IPv4 as a.b.c.d)"},
        {"*.ex_ample.com", "\"*.ex_ample.com\": not a valid suffix: invalid character '_'"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        reject(t[i].in, t[i].msg);
}

Test(net_policy, rejects_names_past_the_length_limits)
{
    char label[65], name[300], msg[400];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(msg, sizeof msg,
             "\"%s\": not a valid IP address or host name: label longer than 63 characters",
             label);
    reject(label, msg);
    snprintf(name, sizeof name, "%.63s.%.63s.%.63s.%.62s", label, label, label, label);
    cr_assert_eq(strlen(name), 254);
    snprintf(msg, sizeof msg,
             "\"%s\": not a valid IP address or host name: longer than 253 characters", name);
    reject(name, msg);
    char huge[301];
    memset(huge, 'b', 300);
    huge[300] = '\0';
    snprintf(msg, sizeof msg, "\"%.40s...\": longer than 299 characters", huge);
    reject(huge, msg);
    huge[299] = '\0'; /* short enough to be read, too long for a name */
    snprintf(msg, sizeof msg,
             "\"%s\": not a valid IP address or host name: longer than 253 characters", huge);
    reject(huge, msg);
}

Test(net_policy, reserved_table_is_what_it_says)
{
    const struct net_entry *r;
    size_t n = net_reserved_ranges(&r);
    cr_assert_eq(n, 20);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(r[i].kind, NET_CIDR);
        cr_assert_eq(r[i].port_lo, 0);
        cr_assert_eq(r[i].port_hi, 65535);
        /* the two embedding prefixes parse as the IPv4 they carry */
        if (strcmp(r[i].text, "::ffff:0:0/96") == 0 || strcmp(r[i].text, "64:ff9b::/96") == 0) {
            cr_assert_eq(r[i].family, AF_INET6);
            cr_assert_eq(r[i].prefix, 96);
            struct net_entry e = parse_ok(r[i].text);
            cr_assert_str_eq(fmt(&e), "0.0.0.0/0");
            continue;
        }
        struct net_entry e = parse_ok(r[i].text);
        cr_assert(same_entry(&e, &r[i]), "row %s", r[i].text);
    }
}

/* ---- policies and narrowing ---- */

Test(net_policy, build_names_the_list_in_messages)
{
    struct net_policy p;
    struct sb_error err = {0};
    cr_assert_eq(net_policy_build(&p, LIST("203.0.113.0/24", "192.0.2.1/24"), NONE,
                                  "sandbox.network", &err), -1);
    cr_assert_str_eq(err.msg, "sandbox.network.allow: \"192.0.2.1/24\": "
                              "host bits set beyond the /24 prefix");
    cr_assert_null(p.allow);
    cr_assert_null(p.deny);
    cr_assert_eq(net_policy_build(&p, LIST("example.com"), LIST("*"), "sandbox.network",
                                  &err), -1);
    cr_assert_str_eq(err.msg, "sandbox.network.deny: \"*\": "
                              "a wildcard needs a suffix, as in \"*.example.com\"");
    cr_assert_null(p.allow);
    cr_assert_eq(p.n_allow, 0);

    p = policy(LIST("203.0.113.0/24", "*.example.com"), LIST("203.0.113.9"));
    cr_assert_eq(p.n_allow, 2);
    cr_assert_eq(p.n_deny, 1);
    cr_assert_eq(p.allow[1].kind, NET_SUFFIX);
    net_policy_free(&p);
    cr_assert_null(p.allow);
    net_policy_free(&p);
}

/* Narrows cfg by req; asserts it succeeds. */
static struct net_policy narrow_ok(const struct net_policy *cfg, const char *const *req, size_t n)
{
    struct net_policy out;
    struct sb_error err = {0};
    cr_assert_eq(net_policy_narrow(cfg, req, n, &out, &err), 0, "%s", err.msg);
    return out;
}

static void narrow_fails(const struct net_policy *cfg, const char *req, const char *msg)
{
    struct net_policy out;
    struct sb_error err = {0};
    cr_assert_eq(net_policy_narrow(cfg, (const char *const[]){req}, 1, &out, &err), -1,
                 "%s was allowed", req);
    cr_assert_eq(err.code, SB_E_INVALID_ARGUMENT);
    cr_assert_str_eq(err.msg, msg);
    cr_assert_null(out.allow);
    cr_assert_null(out.deny);
}

static void not_covered(const struct net_policy *cfg, const char *req)
{
    char msg[512];
    snprintf(msg, sizeof msg,
             "network.allow: \"%s\" is not allowed by the server's network policy", req);
    narrow_fails(cfg, req, msg);
}

Test(net_policy, narrow_accepts_what_the_config_covers)
{
    struct net_policy cfg = policy(
        LIST("198.51.100.0/24", "203.0.113.0/24:443", "2001:db8::/32", "*.example.com",
             "pypi.org:443", "10.0.0.0/8"),
        LIST("198.51.100.66"));
    static const char *const ok[] = {
        "198.51.100.7", "198.51.100.0/25", "198.51.100.0/24", "198.51.100.7:22",
        "203.0.113.9:443", "203.0.113.0/24:443", "[2001:db8:1::/48]:443", "2001:db8::1",
        "a.example.com", "b.a.example.com:8080", "*.a.example.com", "*.example.com:443",
        "*.example.com", "PyPI.org.:443", "10.1.2.3", "10.0.0.0/8", "::ffff:198.51.100.7",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        struct net_policy out = narrow_ok(&cfg, &ok[i], 1);
        cr_assert_eq(out.n_allow, 1, "%s", ok[i]);
        cr_assert_str_eq(out.allow[0].text, ok[i]);
        cr_assert_eq(out.n_deny, 1);
        struct net_entry e = parse_ok(ok[i]);
        cr_assert(same_entry(&out.allow[0], &e), "%s", ok[i]);
        cr_assert_str_eq(out.deny[0].text, "198.51.100.66");
        net_policy_free(&out);
    }
    struct net_policy out = narrow_ok(&cfg, ok, sizeof ok / sizeof *ok);
    cr_assert_eq(out.n_allow, sizeof ok / sizeof *ok);
    net_policy_free(&out);
    net_policy_free(&cfg);
}

Test(net_policy, narrow_refuses_what_the_config_does_not_cover)
{
    struct net_policy cfg = policy(
        LIST("198.51.100.0/24", "203.0.113.0/24:443", "2001:db8::/32", "*.example.com",
             "pypi.org:443", "api.test.org"),
        NONE);
    static const char *const bad[] = {
        "198.51.0.0/16", "198.51.101.1", "0.0.0.0/0", "203.0.113.9", "203.0.113.9:80",
        "2001:db9::1", "::/0", "example.com", "example.com:443",
        "*.com", "pypi.org", "pypi.org:80", "files.pypi.org", "*.pypi.org",
        "notexample.com", "*.test.org", "x.api.test.org", "10.0.0.1", "127.0.0.1",
        "::ffff:10.0.0.1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        not_covered(&cfg, bad[i]);
    /* a name entry never covers an address, nor a CIDR a name */
    struct net_policy names = policy(LIST("*.example.com", "localhost"), NONE);
    not_covered(&names, "192.0.2.10");
    not_covered(&names, "::1");
    struct net_policy cidrs = policy(LIST("0.0.0.0/0", "::/0"), NONE);
    not_covered(&cidrs, "localhost");
    not_covered(&cidrs, "*.example.com");
    narrow_fails(&cfg, "192.0.2.1/24",
                 "network.allow: \"192.0.2.1/24\": host bits set beyond the /24 prefix");
    narrow_fails(&cfg, "[2001:db8::1]:443:1",
                 "network.allow: \"[2001:db8::1]:443:1\": port must be a number from 1 to 65535");
    /* one uncovered entry among covered ones fails the whole request */
    struct net_policy out;
    struct sb_error err = {0};
    cr_assert_eq(net_policy_narrow(&cfg, LIST("198.51.100.1", "evil.org", "pypi.org:443"),
                                   &out, &err), -1);
    cr_assert_str_eq(err.msg, "network.allow: \"evil.org\" is not allowed by the server's "
                              "network policy");
    cr_assert_null(out.allow);
    net_policy_free(&names);
    net_policy_free(&cidrs);
    net_policy_free(&cfg);
}

Test(net_policy, narrow_without_entries_copies_the_config)
{
    struct net_policy cfg = policy(LIST("203.0.113.0/24:443", "*.example.com"),
                                   LIST("203.0.113.9", "bad.example.com"));
    struct net_policy out = narrow_ok(&cfg, NULL, 0);
    cr_assert_eq(out.n_allow, 2);
    cr_assert_eq(out.n_deny, 2);
    cr_assert_neq(out.allow, cfg.allow);
    cr_assert_neq(out.deny, cfg.deny);
    for (size_t i = 0; i < 2; i++) {
        cr_assert(same_entry(&out.allow[i], &cfg.allow[i]));
        cr_assert(same_entry(&out.deny[i], &cfg.deny[i]));
    }
    net_policy_free(&cfg);
    cr_assert_eq(check(&out, "203.0.113.9", 443, NULL), NET_DENIED);
    cr_assert_eq(net_policy_check_name(&out, "a.example.com", NULL), 1);
    net_policy_free(&out);

    struct net_policy empty = {0}, copy = narrow_ok(&empty, NULL, 0);
    cr_assert_null(copy.allow);
    cr_assert_eq(copy.n_allow + copy.n_deny, 0);
    not_covered(&empty, "203.0.113.1");
}

/* A request never reaches what the config keeps reserved or host-only. */
Test(net_policy, narrow_never_widens_reserved_or_host_addresses)
{
    struct net_hostaddrs host = {0};
    host_add(&host, "203.0.113.7");
    host_add(&host, "127.0.0.1");

    struct net_policy internet = policy(LIST("0.0.0.0/0", "::/0"), NONE);
    not_covered(&internet, "10.0.0.0/8");
    not_covered(&internet, "10.1.2.3");
    not_covered(&internet, "127.0.0.1:8080");
    not_covered(&internet, "169.254.169.254");
    not_covered(&internet, "::1");
    not_covered(&internet, "fe80::/10");
    not_covered(&internet, "::ffff:10.0.0.1");
    not_covered(&internet, "64:ff9b::a00:1");
    struct net_policy out = narrow_ok(&internet, LIST("203.0.113.7"));
    cr_assert(out.allow[0].no_host);
    cr_assert_eq(check(&internet, "203.0.113.7", 80, &host), NET_HOST_ADDR);
    cr_assert_eq(check(&out, "203.0.113.7", 80, &host), NET_HOST_ADDR);
    net_policy_free(&out);

    /* a reserved range listed in the config may be narrowed within itself */
    struct net_policy lan = policy(LIST("10.0.0.0/8", "127.0.0.0/8", "203.0.113.7:8080",
                                        "203.0.113.0/24"), NONE);
    out = narrow_ok(&lan, LIST("10.1.0.0/16", "127.0.0.1", "203.0.113.7:8080",
                               "203.0.113.7"));
    cr_assert_eq(check(&out, "10.1.2.3", 80, &host), NET_ALLOW);
    cr_assert_eq(check(&out, "10.2.0.1", 80, &host), NET_RESERVED);
    /* 127.0.0.1 is the host's, but the config opens all of 127.0.0.0/8 */
    cr_assert(out.allow[1].no_host);
    cr_assert_eq(check(&lan, "127.0.0.1", 80, &host), NET_ALLOW);
    cr_assert_eq(check(&out, "127.0.0.1", 80, &host), NET_ALLOW);
    /* the config lists the host's 203.0.113.7 exactly on 8080 only */
    cr_assert(!out.allow[2].no_host);
    cr_assert(out.allow[3].no_host);
    cr_assert_eq(check(&out, "203.0.113.7", 8080, &host), NET_ALLOW);
    cr_assert_eq(check(&lan, "203.0.113.7", 80, &host), NET_HOST_ADDR);
    cr_assert_eq(check(&out, "203.0.113.7", 80, &host), NET_HOST_ADDR);
    /* narrowing again keeps both properties */
    struct net_policy again = narrow_ok(&out, LIST("203.0.113.7", "203.0.113.7:8080"));
    cr_assert(again.allow[0].no_host);
    cr_assert(!again.allow[1].no_host);
    cr_assert_eq(check(&again, "203.0.113.7", 80, &host), NET_HOST_ADDR);
    cr_assert_eq(check(&again, "203.0.113.7", 8080, &host), NET_ALLOW);
    net_policy_free(&again);
    net_policy_free(&out);
    net_policy_free(&lan);
    net_policy_free(&internet);
}

/* ---- addresses ---- */

Test(net_policy, reserved_ranges_and_their_edges)
{
    static const struct { const char *a; bool want; } t[] = {
        {"0.0.0.0", true}, {"0.255.255.255", true}, {"1.0.0.0", false},
        {"9.255.255.255", false}, {"10.0.0.0", true}, {"10.255.255.255", true},
        {"11.0.0.0", false}, {"100.63.255.255", false}, {"100.64.0.0", true},
        {"100.127.255.255", true}, {"100.128.0.0", false}, {"127.0.0.1", true},
        {"127.255.255.255", true}, {"128.0.0.0", false}, {"169.254.169.254", true},
        {"169.255.0.0", false}, {"172.15.255.255", false}, {"172.16.0.0", true},
        {"172.31.255.255", true}, {"172.32.0.0", false}, {"192.0.0.8", true},
        {"192.0.1.0", false}, {"192.0.2.1", false}, {"192.167.255.255", false},
        {"192.168.1.1", true}, {"198.17.255.255", false}, {"198.18.0.0", true},
        {"198.19.255.255", true}, {"198.20.0.0", false}, {"198.51.100.1", false},
        {"203.0.113.1", false}, {"223.255.255.255", false}, {"224.0.0.1", true},
        {"239.255.255.255", true}, {"240.0.0.1", true}, {"255.255.255.255", true},
        {"8.8.8.8", false},
        {"::", true}, {"::1", true}, {"::2", true}, {"2001:db8::1", false},
        {"2606:4700::1111", false}, {"::ffff:10.0.0.1", true}, {"::ffff:127.0.0.1", true},
        {"::ffff:203.0.113.1", false}, {"64:ff9b::a00:1", true}, {"64:ff9b::cb00:7101", false},
        {"64:ff9b::7f00:1", true}, {"::a00:1", true}, {"::cb00:7101", false},
        {"100::1", true}, {"100::1:0:0:1", true}, {"100:0:0:1::1", false}, {"fbff::1", false}, {"fc00::1", true},
        {"fd12:3456::1", true}, {"fe00::1", false}, {"fe80::1", true}, {"febf::1", true},
        {"fec0::1", true}, {"feff::1", true}, {"ff02::1", true}, {"2002::1", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        uint8_t a[16];
        int f = ip(t[i].a, a);
        cr_assert_eq(net_addr_reserved(f, a), t[i].want, "%s", t[i].a);
    }
    cr_assert(!net_addr_reserved(AF_UNIX, (uint8_t[16]){10}));
}

Test(net_policy, the_internet_does_not_reach_reserved_addresses)
{
    struct net_policy p = policy(LIST("0.0.0.0/0", "::/0"), NONE);
    static const char *const reserved[] = {
        "10.0.0.1", "127.0.0.1", "169.254.169.254", "172.16.5.4", "192.168.0.1",
        "100.64.0.1", "0.0.0.0", "224.0.0.251", "255.255.255.255", "::1", "::",
        "fe80::1", "fd00::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
        "64:ff9b::a00:1", "::a00:1",
    };
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        cr_assert_eq(check(&p, reserved[i], 80, NULL), NET_RESERVED, "%s", reserved[i]);
    cr_assert_eq(check(&p, "203.0.113.5", 443, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "2001:db8::5", 443, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "::ffff:203.0.113.5", 443, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "64:ff9b::cb00:7105", 443, NULL), NET_ALLOW);
    net_policy_free(&p);

    /* embedded IPv4 is IPv4: "::/0" alone does not reach it */
    p = policy(LIST("::/0"), NONE);
    cr_assert_eq(check(&p, "::ffff:203.0.113.5", 443, NULL), NET_NOT_ALLOWED);
    cr_assert_eq(check(&p, "2001:db8::5", 443, NULL), NET_ALLOW);
    net_policy_free(&p);
}

Test(net_policy, an_explicit_allow_reaches_a_reserved_address)
{
    struct net_policy p = policy(LIST("10.1.2.3", "172.16.0.0/12:5432", "::1", "fe80::/10",
                                      "0.0.0.0/0"), NONE);
    cr_assert_eq(check(&p, "10.1.2.3", 80, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "::ffff:10.1.2.3", 80, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "64:ff9b::a01:203", 80, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "10.1.2.4", 80, NULL), NET_RESERVED);
    cr_assert_eq(check(&p, "172.20.1.1", 5432, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "172.20.1.1", 5433, NULL), NET_RESERVED);
    cr_assert_eq(check(&p, "::1", 8080, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "fe80::1", 22, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "fc00::1", 22, NULL), NET_RESERVED);
    net_policy_free(&p);

    /* a range only partly reserved lists none of it explicitly */
    p = policy(LIST("10.0.0.0/7", "224.0.0.0/3"), NONE);
    cr_assert_eq(check(&p, "10.0.0.1", 80, NULL), NET_RESERVED);
    cr_assert_eq(check(&p, "11.0.0.1", 80, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "224.0.0.1", 80, NULL), NET_RESERVED);
    cr_assert_eq(check(&p, "203.0.113.1", 80, NULL), NET_NOT_ALLOWED);
    net_policy_free(&p);
}

Test(net_policy, host_addresses_need_their_exact_entry_or_a_reserved_range)
{
    struct net_hostaddrs host = {0};
    host_add(&host, "203.0.113.7");
    host_add(&host, "2001:db8::7");
    host_add(&host, "127.0.0.1");
    host_add(&host, "::1");
    host_add(&host, "10.0.0.5");

    struct net_policy p = policy(LIST("0.0.0.0/0", "::/0", "127.0.0.0/8", "10.0.0.0/8"), NONE);
    cr_assert_eq(check(&p, "203.0.113.7", 80, &host), NET_HOST_ADDR);
    cr_assert_eq(check(&p, "::ffff:203.0.113.7", 80, &host), NET_HOST_ADDR);
    cr_assert_eq(check(&p, "2001:db8::7", 80, &host), NET_HOST_ADDR);
    cr_assert_eq(check(&p, "203.0.113.8", 80, &host), NET_ALLOW);
    cr_assert_eq(check(&p, "203.0.113.7", 80, NULL), NET_ALLOW);
    /* reserved and the host's: a reserved range lists it explicitly */
    cr_assert_eq(check(&p, "127.0.0.1", 80, &host), NET_ALLOW);
    cr_assert_eq(check(&p, "10.0.0.5", 80, &host), NET_ALLOW);
    net_policy_free(&p);
    p = policy(LIST("0.0.0.0/0", "::/0"), NONE);
    cr_assert_eq(check(&p, "127.0.0.1", 80, &host), NET_RESERVED);
    cr_assert_eq(check(&p, "::1", 80, &host), NET_RESERVED);
    cr_assert_eq(check(&p, "10.0.0.5", 80, &host), NET_RESERVED);
    net_policy_free(&p);

    p = policy(LIST("0.0.0.0/0", "203.0.113.7:8080", "127.0.0.1:8080", "[::1]:9000",
                    "10.0.0.5"), NONE);
    cr_assert_eq(check(&p, "203.0.113.7", 8080, &host), NET_ALLOW);
    cr_assert_eq(check(&p, "203.0.113.7", 22, &host), NET_HOST_ADDR);
    cr_assert_eq(check(&p, "127.0.0.1", 8080, &host), NET_ALLOW);
    cr_assert_eq(check(&p, "::ffff:127.0.0.1", 8080, &host), NET_ALLOW);
    cr_assert_eq(check(&p, "127.0.0.1", 8081, &host), NET_RESERVED);
    cr_assert_eq(check(&p, "::1", 9000, &host), NET_ALLOW);
    cr_assert_eq(check(&p, "::1", 9001, &host), NET_RESERVED);
    cr_assert_eq(check(&p, "10.0.0.5", 1, &host), NET_ALLOW);
    net_policy_free(&p);
}

Test(net_policy, deny_comes_first)
{
    struct net_hostaddrs host = {0};
    host_add(&host, "127.0.0.1");
    struct net_policy p = policy(LIST("10.1.2.3", "127.0.0.1", "0.0.0.0/0", "::/0"),
                                 LIST("10.1.2.3", "127.0.0.1:22", "203.0.113.0/24:25",
                                      "[2001:db8::/32]:25", "192.0.2.0/24"));
    cr_assert_eq(check(&p, "10.1.2.3", 80, NULL), NET_DENIED);
    cr_assert_eq(check(&p, "127.0.0.1", 22, &host), NET_DENIED);
    cr_assert_eq(check(&p, "127.0.0.1", 80, &host), NET_ALLOW);
    cr_assert_eq(check(&p, "203.0.113.5", 25, NULL), NET_DENIED);
    cr_assert_eq(check(&p, "203.0.113.5", 443, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "2001:db8::5", 25, NULL), NET_DENIED);
    cr_assert_eq(check(&p, "2001:db8::5", 26, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "::ffff:192.0.2.9", 443, NULL), NET_DENIED);
    cr_assert_eq(check(&p, "64:ff9b::c000:209", 443, NULL), NET_DENIED);
    /* neither denied nor listed: still reserved */
    cr_assert_eq(check(&p, "10.9.9.9", 80, NULL), NET_RESERVED);
    net_policy_free(&p);
}

Test(net_policy, ports_and_no_entry)
{
    struct net_policy p = policy(LIST("203.0.113.0/24:443", "[2001:db8::/32]:443"), NONE);
    cr_assert_eq(check(&p, "203.0.113.5", 443, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "203.0.113.5", 80, NULL), NET_NOT_ALLOWED);
    cr_assert_eq(check(&p, "203.0.113.5", 0, NULL), NET_NOT_ALLOWED);
    cr_assert_eq(check(&p, "2001:db8::5", 443, NULL), NET_ALLOW);
    cr_assert_eq(check(&p, "2001:db8::5", 444, NULL), NET_NOT_ALLOWED);
    cr_assert_eq(check(&p, "198.51.100.1", 443, NULL), NET_NOT_ALLOWED);
    cr_assert_eq(net_policy_check_addr(&p, AF_UNIX, (uint8_t[16]){203, 0, 113, 5}, 443, NULL),
                 NET_NOT_ALLOWED);
    net_policy_free(&p);

    struct net_policy empty = {0};
    cr_assert_eq(check(&empty, "203.0.113.5", 443, NULL), NET_NOT_ALLOWED);
    cr_assert_eq(check(&empty, "10.0.0.1", 443, NULL), NET_RESERVED);
    /* name entries do not allow addresses */
    p = policy(LIST("*.example.com", "example.com"), NONE);
    cr_assert_eq(check(&p, "203.0.113.5", 443, NULL), NET_NOT_ALLOWED);
    net_policy_free(&p);
}

/* ---- names ---- */

static void ports_are(const struct net_ports *ps, size_t n, const unsigned (*want)[2])
{
    cr_assert_eq(ps->n, n);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(ps->r[i].lo, want[i][0], "range %zu", i);
        cr_assert_eq(ps->r[i].hi, want[i][1], "range %zu", i);
    }
}

Test(net_policy, names_match_exactly_or_strictly_below_a_suffix)
{
    struct net_policy p = policy(
        LIST("pypi.org:443", "*.example.com:443", "*.example.com:80", "api.example.com:8080",
             "*.pythonhosted.org", "localhost:8000", "198.51.100.0/24"),
        LIST("bad.example.com", "*.evil.example.com", "203.0.113.0/24"));
    struct net_ports ps;
    cr_assert_eq(net_policy_check_name(&p, "pypi.org", &ps), 1);
    ports_are(&ps, 1, (const unsigned[][2]){{443, 443}});
    cr_assert_eq(net_policy_check_name(&p, "PyPI.ORG.", &ps), 1);
    ports_are(&ps, 1, (const unsigned[][2]){{443, 443}});
    cr_assert_eq(net_policy_check_name(&p, "www.pypi.org", &ps), 0);
    cr_assert_eq(ps.n, 0);
    cr_assert_eq(net_policy_check_name(&p, "example.com", &ps), 0);
    cr_assert_eq(net_policy_check_name(&p, "notexample.com", &ps), 0);
    cr_assert_eq(net_policy_check_name(&p, "a.example.com", &ps), 1);
    ports_are(&ps, 2, (const unsigned[][2]){{80, 80}, {443, 443}});
    cr_assert_eq(net_policy_check_name(&p, "B.A.Example.Com", &ps), 1);
    ports_are(&ps, 2, (const unsigned[][2]){{80, 80}, {443, 443}});
    cr_assert_eq(net_policy_check_name(&p, "api.example.com", &ps), 1);
    ports_are(&ps, 3, (const unsigned[][2]){{80, 80}, {443, 443}, {8080, 8080}});
    cr_assert_eq(net_policy_check_name(&p, "files.pythonhosted.org", &ps), 1);
    ports_are(&ps, 1, (const unsigned[][2]){{0, 65535}});
    cr_assert_eq(net_policy_check_name(&p, "localhost", &ps), 1);
    ports_are(&ps, 1, (const unsigned[][2]){{8000, 8000}});
    cr_assert_eq(net_policy_check_name(&p, "localhost", NULL), 1);
    net_policy_free(&p);
}

Test(net_policy, a_deny_name_wins_on_every_port)
{
    struct net_policy p = policy(LIST("*.example.com", "bad.example.com:443"),
                                 LIST("bad.example.com:22", "*.evil.example.com"));
    struct net_ports ps = {.n = 5};
    cr_assert_eq(net_policy_check_name(&p, "bad.example.com", &ps), 0);
    cr_assert_eq(ps.n, 0);
    cr_assert_eq(net_policy_check_name(&p, "BAD.example.com.", &ps), 0);
    cr_assert_eq(net_policy_check_name(&p, "x.bad.example.com", &ps), 1);
    cr_assert_eq(net_policy_check_name(&p, "x.evil.example.com", &ps), 0);
    cr_assert_eq(net_policy_check_name(&p, "a.b.evil.example.com", &ps), 0);
    cr_assert_eq(net_policy_check_name(&p, "evil.example.com", &ps), 1);
    net_policy_free(&p);
}

Test(net_policy, invalid_names_are_never_allowed)
{
    struct net_policy p = policy(LIST("*.com", "localhost"), NONE);
    static const char *const bad[] = {
        "", ".", "a..com", "a b.com", "*.x.com", "x_y.com", "192.0.2.1", "127.1",
        "0x7f000001", "::1", "-a.com", "a.com..",
    };
    struct net_ports ps = {.n = 3};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(net_policy_check_name(&p, bad[i], &ps), 0, "%s", bad[i]);
        cr_assert_eq(ps.n, 0);
    }
    cr_assert_eq(net_policy_check_name(&p, NULL, &ps), 0);
    net_policy_free(&p);
}

Test(net_policy, name_ports_merge_and_saturate)
{
    struct net_ports ps;
    struct net_policy p = policy(LIST("h.io:80", "h.io:443", "h.io:81", "h.io:80", "h.io:79",
                                      "*.io:8443", "*.io:22"), NONE);
    cr_assert_eq(net_policy_check_name(&p, "h.io", &ps), 1);
    ports_are(&ps, 4, (const unsigned[][2]){{22, 22}, {79, 81}, {443, 443}, {8443, 8443}});
    net_policy_free(&p);

    p = policy(LIST("a.h.io:80", "*.h.io", "a.h.io:443"), NONE);
    cr_assert_eq(net_policy_check_name(&p, "a.h.io", &ps), 1);
    ports_are(&ps, 1, (const unsigned[][2]){{0, 65535}});
    net_policy_free(&p);

    /* 16 separate ports fit; a 17th saturates to every port */
    char text[17][32];
    const char *list[17];
    for (int i = 0; i < 17; i++) {
        snprintf(text[i], sizeof text[i], "h.io:%d", 1000 + 2 * (16 - i));
        list[i] = text[i];
    }
    cr_assert_eq(net_policy_build(&p, list, 16, NULL, 0, "t", NULL), 0);
    cr_assert_eq(net_policy_check_name(&p, "h.io", &ps), 1);
    cr_assert_eq(ps.n, 16);
    for (size_t i = 0; i < 16; i++)
        cr_assert_eq(ps.r[i].lo, 1002 + 2 * i);
    net_policy_free(&p);
    cr_assert_eq(net_policy_build(&p, list, 17, NULL, 0, "t", NULL), 0);
    cr_assert_eq(net_policy_check_name(&p, "h.io", &ps), 1);
    ports_are(&ps, 1, (const unsigned[][2]){{0, 65535}});
    net_policy_free(&p);
}

Test(net_policy, name_validity)
{
    static const struct { const char *n; bool want; } t[] = {
        {"localhost", true}, {"Example.COM.", true}, {"a-b.c0.io", true}, {"123.com", true},
        {"xn--bcher-kva.example", true}, {"", false}, {".", false}, {"a..b", false},
        {"-a", false}, {"a-", false}, {"a_b", false}, {"a b", false}, {"127.1", false},
        {"1.2.3.4", false}, {"1.2.3.4.5", false}, {"::1", false}, {"*.a", false},
        {"a.b.", true}, {"a.b..", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        cr_assert_eq(net_name_valid(t[i].n), t[i].want, "%s", t[i].n);
    cr_assert(!net_name_valid(NULL));
}

/* ---- host addresses ---- */

Test(net_policy, loads_the_host_addresses)
{
    struct net_hostaddrs h;
    int n = net_hostaddrs_load(&h);
    cr_assert_geq(n, 0);
    cr_assert_eq((size_t)n, h.n);
    for (size_t i = 0; i < h.n; i++) {
        cr_assert(h.a[i].family == AF_INET || h.a[i].family == AF_INET6);
        for (size_t j = 0; j < i; j++)
            cr_assert(h.a[i].family != h.a[j].family ||
                      memcmp(h.a[i].addr, h.a[j].addr, 16) != 0, "duplicate %zu", i);
    }
}
