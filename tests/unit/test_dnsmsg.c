/* Unit tests for src/net/dnsmsg.c: exact packets, hostile ones refused, answers filtered. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/dnsmsg.h"

/* A tiny packet writer for handcrafted messages. */
struct pk {
    uint8_t b[4096];
    size_t n;
};

static void u8(struct pk *p, uint8_t v)
{
    p->b[p->n++] = v;
}

static void u16(struct pk *p, uint16_t v)
{
    u8(p, (uint8_t)(v >> 8));
    u8(p, (uint8_t)v);
}

static void u32(struct pk *p, uint32_t v)
{
    u16(p, (uint16_t)(v >> 16));
    u16(p, (uint16_t)v);
}

static void hdr(struct pk *p, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns,
                uint16_t ar)
{
    p->n = 0;
    u16(p, id), u16(p, flags), u16(p, qd), u16(p, an), u16(p, ns), u16(p, ar);
}

/* Labels of a dotted name, without the final 0 (so a pointer may follow). */
static size_t labels(struct pk *p, const char *s)
{
    size_t at = p->n;
    while (*s) {
        size_t l = strcspn(s, ".");
        u8(p, (uint8_t)l);
        memcpy(p->b + p->n, s, l);
        p->n += l;
        s += l + (s[l] == '.');
    }
    return at;
}

/* A whole uncompressed name; returns its offset. */
static size_t name(struct pk *p, const char *s)
{
    size_t at = labels(p, s);
    u8(p, 0);
    return at;
}

static void ptr(struct pk *p, size_t off)
{
    u16(p, (uint16_t)(0xc000 | off));
}

/* Type, class, TTL and rdlength after an owner name. */
static void rr_head(struct pk *p, uint16_t type, uint16_t cls, uint32_t ttl, uint16_t rdlen)
{
    u16(p, type), u16(p, cls), u32(p, ttl), u16(p, rdlen);
}

static void rr_a(struct pk *p, uint32_t ttl, const char *ip)
{
    rr_head(p, DNS_A, DNS_CLASS_IN, ttl, 4);
    cr_assert_eq(inet_pton(AF_INET, ip, p->b + p->n), 1);
    p->n += 4;
}

static void rr_aaaa(struct pk *p, uint32_t ttl, const char *ip)
{
    rr_head(p, DNS_AAAA, DNS_CLASS_IN, ttl, 16);
    cr_assert_eq(inet_pton(AF_INET6, ip, p->b + p->n), 1);
    p->n += 16;
}

/* The EDNS OPT pseudo-record dig sends: root owner, UDP size 1232. */
static void opt(struct pk *p)
{
    u8(p, 0);
    rr_head(p, 41, 1232, 0, 0);
}

/* A response header and question for `qname`, type A; the question name sits at 12. */
static void response(struct pk *p, uint16_t flags, const char *qname, uint16_t an, uint16_t ar)
{
    hdr(p, 0xbeef, flags, 1, an, 0, ar);
    name(p, qname);
    u16(p, DNS_A), u16(p, DNS_CLASS_IN);
}

static void addr_is(const struct dns_addr *a, const char *ip)
{
    uint8_t want[16] = {0};
    int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
    cr_assert_eq(inet_pton(family, ip, want), 1);
    cr_assert_eq(a->family, family, "%s: family %d", ip, a->family);
    cr_assert_eq(memcmp(a->addr, want, 16), 0, "not %s", ip);
}

static struct dns_query query_for(const char *qname, uint16_t qtype)
{
    struct dns_query q;
    uint8_t b[512];
    int n = dns_build_query(7, qname, qtype, b, sizeof b);
    cr_assert_gt(n, 0);
    cr_assert_eq(dns_parse_query(b, (size_t)n, &q), 0);
    return q;
}

/* ---- building ---- */

Test(dnsmsg, build_query_exact_bytes)
{
    static const uint8_t want[] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p',
                                   'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x1c, 0x00, 0x01};
    uint8_t b[512];
    cr_assert_eq(dns_build_query(0x1234, "www.Example.com", DNS_AAAA, b, sizeof b), sizeof want);
    cr_assert_eq(memcmp(b, want, sizeof want), 0);
    /* one trailing dot is the same name */
    cr_assert_eq(dns_build_query(0x1234, "www.Example.com.", DNS_AAAA, b, sizeof b), sizeof want);
    cr_assert_eq(memcmp(b, want, sizeof want), 0);
    /* exactly enough room, then one byte less */
    cr_assert_eq(dns_build_query(0x1234, "www.Example.com", DNS_AAAA, b, sizeof want),
                 sizeof want);
    cr_assert_eq(dns_build_query(0x1234, "www.Example.com", DNS_AAAA, b, sizeof want - 1), -1);
}

Test(dnsmsg, build_query_root)
{
    static const uint8_t want[] = {0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 255, 0, 1};
    uint8_t b[64];
    cr_assert_eq(dns_build_query(9, "", DNS_ANY, b, sizeof b), sizeof want);
    cr_assert_eq(memcmp(b, want, sizeof want), 0);
    cr_assert_eq(dns_build_query(9, ".", DNS_ANY, b, sizeof b), sizeof want);
    cr_assert_eq(memcmp(b, want, sizeof want), 0);
}

Test(dnsmsg, build_query_refuses_bad_names)
{
    uint8_t b[1024];
    char l63[64], l64[65], max[300], over[300];
    memset(l63, 'a', 63), l63[63] = '\0';
    memset(l64, 'a', 64), l64[64] = '\0';
    /* 3 x 63 + 61: 3 * 64 + 62 + 1 = 255 bytes in wire form; one more is too many */
    snprintf(max, sizeof max, "%s.%s.%s.%.61s", l63, l63, l63, l63);
    snprintf(over, sizeof over, "%s.%s.%s.%.62s", l63, l63, l63, l63);
    cr_assert_eq(dns_build_query(1, l63, DNS_A, b, sizeof b), 12 + 65 + 4);
    cr_assert_eq(dns_build_query(1, max, DNS_A, b, sizeof b), 12 + 255 + 4);
    cr_assert_eq(dns_build_query(1, over, DNS_A, b, sizeof b), -1);
    cr_assert_eq(dns_build_query(1, l64, DNS_A, b, sizeof b), -1);
    cr_assert_eq(dns_build_query(1, "a..b", DNS_A, b, sizeof b), -1);
    cr_assert_eq(dns_build_query(1, ".a", DNS_A, b, sizeof b), -1);
    cr_assert_eq(dns_build_query(1, "a..", DNS_A, b, sizeof b), -1);
    cr_assert_eq(dns_build_query(1, NULL, DNS_A, b, sizeof b), -1);
}

/* A query as dig sends it: RD, AD, an EDNS OPT in the additional section. */
static size_t dig_query(uint8_t *out, uint16_t flags)
{
    struct pk p;
    hdr(&p, 0xabcd, flags, 1, 0, 0, 1);
    name(&p, "Example.org");
    u16(&p, DNS_A), u16(&p, DNS_CLASS_IN);
    opt(&p);
    memcpy(out, p.b, p.n);
    return p.n;
}

Test(dnsmsg, build_error_exact_bytes)
{
    static const uint8_t want[] = {0xab, 0xcd, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0,
                                   7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0,
                                   0, 1, 0, 1};
    uint8_t qb[512], b[512];
    struct dns_query q;
    size_t qlen = dig_query(qb, 0x0120);
    cr_assert_eq(dns_parse_query(qb, qlen, &q), 0);
    cr_assert_eq(dns_build_error(qb, qlen, &q, DNS_NXDOMAIN, b, sizeof b), sizeof want);
    cr_assert_eq(memcmp(b, want, sizeof want), 0);
    /* RD clear in the query: clear in the reply */
    qlen = dig_query(qb, 0x0000);
    cr_assert_eq(dns_parse_query(qb, qlen, &q), 0);
    cr_assert_eq(dns_build_error(qb, qlen, &q, DNS_REFUSED, b, sizeof b), sizeof want);
    cr_assert_eq(b[2], 0x80);
    cr_assert_eq(b[3], 0x85);
    cr_assert_eq(memcmp(b + 4, want + 4, sizeof want - 4), 0);
}

Test(dnsmsg, build_error_in_place_and_limits)
{
    uint8_t qb[512], b[512];
    struct dns_query q;
    size_t qlen = dig_query(qb, 0x0100);
    cr_assert_eq(dns_parse_query(qb, qlen, &q), 0);
    cr_assert_eq(dns_build_error(qb, qlen, &q, DNS_SERVFAIL, b, q.question_end - 1), -1);
    cr_assert_eq(dns_build_error(qb, qlen, &q, 16, b, sizeof b), -1);
    cr_assert_eq(dns_build_error(qb, qlen, &q, -1, b, sizeof b), -1);
    cr_assert_eq(dns_build_error(qb, q.question_end - 1, &q, DNS_SERVFAIL, b, sizeof b), -1);
    int n = dns_build_error(qb, qlen, &q, DNS_SERVFAIL, qb, sizeof qb);
    cr_assert_eq(n, (int)q.question_end);
    /* the reply parses as a response to the query it answers */
    struct dns_answers a;
    cr_assert_eq(dns_parse_response(qb, (size_t)n, &q, &a), 0);
    cr_assert_eq(a.id, 0xabcd);
    cr_assert_eq(a.rcode, DNS_SERVFAIL);
    cr_assert_eq(a.n, 0);
    cr_assert_eq(a.min_ttl, 0);
}

Test(dnsmsg, set_id)
{
    uint8_t b[64];
    int n = dns_build_query(1, "a", DNS_A, b, sizeof b);
    dns_set_id(b, (size_t)n, 0xfedc);
    cr_assert_eq(b[0], 0xfe);
    cr_assert_eq(b[1], 0xdc);
    dns_set_id(b, 1, 0); /* too short: untouched */
    cr_assert_eq(b[0], 0xfe);
}

/* ---- queries ---- */

Test(dnsmsg, parse_query_lowercases_and_skips_edns)
{
    uint8_t qb[512];
    struct dns_query q;
    size_t qlen = dig_query(qb, 0x0120);
    cr_assert_eq(dns_parse_query(qb, qlen, &q), 0);
    cr_assert_eq(q.id, 0xabcd);
    cr_assert_eq(q.flags, 0x0120);
    cr_assert_str_eq(q.name, "example.org");
    cr_assert_eq(q.qtype, DNS_A);
    cr_assert_eq(q.qclass, DNS_CLASS_IN);
    cr_assert_eq(q.question_end, 12 + 13 + 4);

    struct pk p;
    hdr(&p, 1, 0x0100, 1, 0, 0, 0);
    name(&p, "WwW.ExAmple.COM");
    u16(&p, DNS_AAAA), u16(&p, DNS_CLASS_IN);
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), 0);
    cr_assert_str_eq(q.name, "www.example.com");
    cr_assert_eq(q.qtype, DNS_AAAA);
    cr_assert_eq(q.question_end, p.n);
}

Test(dnsmsg, parse_query_root_and_trailing_dot)
{
    uint8_t b[512];
    struct dns_query q;
    int n = dns_build_query(3, ".", DNS_ANY, b, sizeof b);
    cr_assert_eq(dns_parse_query(b, (size_t)n, &q), 0);
    cr_assert_str_eq(q.name, "");
    cr_assert_eq(q.qtype, DNS_ANY);
    cr_assert_eq(q.question_end, 17);
    n = dns_build_query(3, "Example.COM.", DNS_A, b, sizeof b);
    cr_assert_eq(dns_parse_query(b, (size_t)n, &q), 0);
    cr_assert_str_eq(q.name, "example.com");
}

Test(dnsmsg, parse_query_longest_name)
{
    struct pk p;
    struct dns_query q;
    hdr(&p, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 3; i++) {
        u8(&p, 63);
        memset(p.b + p.n, 'A', 63);
        p.n += 63;
    }
    u8(&p, 61);
    memset(p.b + p.n, 'b', 61);
    p.n += 61;
    u8(&p, 0);
    u16(&p, DNS_A), u16(&p, DNS_CLASS_IN);
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), 0);
    cr_assert_eq(strlen(q.name), 253);
    cr_assert_eq(q.name[0], 'a');
    cr_assert_eq(q.name[63], '.');
    cr_assert_eq(q.name[252], 'b');
}

/* A well-formed query, then one field changed. */
static void query_with(struct pk *p, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns)
{
    hdr(p, 1, flags, qd, an, ns, 0);
    name(p, "example.com");
    u16(p, DNS_A), u16(p, DNS_CLASS_IN);
}

Test(dnsmsg, parse_query_refuses_bad_headers)
{
    struct pk p;
    struct dns_query q;
    query_with(&p, 0, 1, 0, 0);
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), 0);
    for (size_t len = 0; len < p.n; len++)
        cr_assert_eq(dns_parse_query(p.b, len, &q), -1, "truncated to %zu", len);
    cr_assert_eq(dns_parse_query(p.b, 11, &q), -1);
    cr_assert_str_eq(q.name, ""); /* zeroed on failure */
    query_with(&p, 0x8000, 1, 0, 0); /* QR=1 */
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), -1);
    query_with(&p, 0x1000, 1, 0, 0); /* opcode 2, STATUS */
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), -1);
    query_with(&p, 0, 2, 0, 0);
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), -1);
    query_with(&p, 0, 0, 0, 0);
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), -1);
    query_with(&p, 0, 1, 1, 0);
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), -1);
    query_with(&p, 0, 1, 0, 1);
    cr_assert_eq(dns_parse_query(p.b, p.n, &q), -1);
    cr_assert_eq(dns_parse_query(NULL, 0, &q), -1);
}

/* A query whose name is `wire` as given (no final 0 added). */
static int parse_wire(const uint8_t *wire, size_t n)
{
    struct pk p;
    struct dns_query q;
    hdr(&p, 1, 0, 1, 0, 0, 0);
    memcpy(p.b + p.n, wire, n);
    p.n += n;
    u16(&p, DNS_A), u16(&p, DNS_CLASS_IN);
    return dns_parse_query(p.b, p.n, &q);
}

Test(dnsmsg, parse_query_refuses_bad_names)
{
    uint8_t w[600];
    memset(w, 'a', sizeof w);
    w[0] = 64, w[65] = 0; /* a label of 64 (0x40: an extended label type) */
    cr_assert_eq(parse_wire(w, 66), -1);
    w[0] = 63, w[64] = 0;
    cr_assert_eq(parse_wire(w, 65), 0);
    /* 4 labels of 63: 257 bytes in wire form */
    memset(w, 'a', sizeof w);
    for (int i = 0; i < 4; i++)
        w[i * 64] = 63;
    w[256] = 0;
    cr_assert_eq(parse_wire(w, 257), -1);
    /* 256 bytes: 3 x 63 + 62 */
    w[192] = 62, w[255] = 0;
    cr_assert_eq(parse_wire(w, 256), -1);
    static const uint8_t self[] = {0xc0, 0x0c};     /* points at itself */
    static const uint8_t header[] = {0xc0, 0x02};   /* into the header */
    static const uint8_t reserved[] = {0x80, 0x01, 'a', 0};
    static const uint8_t dot[] = {3, 'a', '.', 'b', 0};
    static const uint8_t space[] = {3, 'a', ' ', 'b', 0};
    static const uint8_t high[] = {3, 'a', 0xc3, 'b', 0};
    static const uint8_t nul[] = {3, 'a', 0, 'b', 0};
    static const uint8_t fine[] = {5, 'a', '-', '_', '*', 'Z', 0};
    cr_assert_eq(parse_wire(self, sizeof self), -1);
    cr_assert_eq(parse_wire(header, sizeof header), -1);
    cr_assert_eq(parse_wire(reserved, sizeof reserved), -1);
    cr_assert_eq(parse_wire(dot, sizeof dot), -1);
    cr_assert_eq(parse_wire(space, sizeof space), -1);
    cr_assert_eq(parse_wire(high, sizeof high), -1);
    cr_assert_eq(parse_wire(nul, sizeof nul), -1);
    cr_assert_eq(parse_wire(fine, sizeof fine), 0);
}

/* ---- responses ---- */

Test(dnsmsg, response_with_compression)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8180, "www.example.com", 2, 0);
    ptr(&p, 12);
    rr_a(&p, 300, "93.184.216.34");
    ptr(&p, 12);
    rr_aaaa(&p, 120, "2606:2800:220:1:248:1893:25c8:1946");
    struct dns_query q = query_for("WWW.example.com", DNS_A);
    cr_assert_eq(dns_parse_response(p.b, p.n, &q, &a), 0);
    cr_assert_eq(a.id, 0xbeef);
    cr_assert_eq(a.rcode, DNS_NOERROR);
    cr_assert_not(a.truncated);
    cr_assert_eq(a.n, 2);
    addr_is(&a.a[0], "93.184.216.34");
    cr_assert_eq(a.a[0].ttl, 300);
    addr_is(&a.a[1], "2606:2800:220:1:248:1893:25c8:1946");
    cr_assert_eq(a.min_ttl, 120);
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), 0);
    cr_assert_eq(a.n, 2);
}

Test(dnsmsg, response_cname_chain)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8180, "www.example.com", 5, 0);
    ptr(&p, 12); /* www.example.com CNAME web.example.com */
    rr_head(&p, DNS_CNAME, DNS_CLASS_IN, 3600, 6);
    size_t web = labels(&p, "web");
    ptr(&p, 16);
    ptr(&p, web); /* web.example.com CNAME edge.cdn.net */
    rr_head(&p, DNS_CNAME, DNS_CLASS_IN, 600, 14);
    size_t edge = name(&p, "edge.cdn.net");
    ptr(&p, 16); /* example.com A: not on the chain */
    rr_a(&p, 5, "10.6.6.6");
    ptr(&p, edge);
    rr_a(&p, 60, "192.0.2.7");
    ptr(&p, edge);
    rr_aaaa(&p, 90, "2001:db8::7");
    struct dns_query q = query_for("www.example.com", DNS_A);
    cr_assert_eq(dns_parse_response(p.b, p.n, &q, &a), 0);
    cr_assert_eq(a.n, 2);
    addr_is(&a.a[0], "192.0.2.7");
    addr_is(&a.a[1], "2001:db8::7");
    cr_assert_eq(a.a[1].ttl, 90);
    cr_assert_eq(a.min_ttl, 5); /* every answer record counts */
}

Test(dnsmsg, response_cname_chain_out_of_order_and_looping)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8180, "a.test", 5, 0);
    name(&p, "c.test");
    rr_a(&p, 60, "192.0.2.3");
    name(&p, "b.test"); /* b -> c, before a -> b */
    rr_head(&p, DNS_CNAME, DNS_CLASS_IN, 60, 8);
    name(&p, "c.test");
    name(&p, "a.test");
    rr_head(&p, DNS_CNAME, DNS_CLASS_IN, 60, 8);
    name(&p, "b.test");
    name(&p, "c.test"); /* c -> a: a loop */
    rr_head(&p, DNS_CNAME, DNS_CLASS_IN, 60, 8);
    name(&p, "a.test");
    name(&p, "d.test");
    rr_a(&p, 60, "192.0.2.4");
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), 0);
    cr_assert_eq(a.n, 1);
    addr_is(&a.a[0], "192.0.2.3");
}

Test(dnsmsg, response_question_must_match)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8180, "www.example.com", 1, 0);
    ptr(&p, 12);
    rr_a(&p, 300, "192.0.2.1");
    struct dns_query q = query_for("www.example.com", DNS_A);
    cr_assert_eq(dns_parse_response(p.b, p.n, &q, &a), 0);
    q = query_for("www.example.net", DNS_A);
    cr_assert_eq(dns_parse_response(p.b, p.n, &q, &a), -1);
    cr_assert_eq(a.n, 0);
    q = query_for("example.com", DNS_A);
    cr_assert_eq(dns_parse_response(p.b, p.n, &q, &a), -1);
    q = query_for("www.example.com", DNS_AAAA);
    cr_assert_eq(dns_parse_response(p.b, p.n, &q, &a), -1);
    q = query_for("www.example.com", DNS_A);
    q.qclass = 3;
    cr_assert_eq(dns_parse_response(p.b, p.n, &q, &a), -1);
}

Test(dnsmsg, response_flags_and_ttls)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8383, "gone.example", 0, 0); /* TC, NXDOMAIN */
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), 0);
    cr_assert(a.truncated);
    cr_assert_eq(a.rcode, DNS_NXDOMAIN);
    cr_assert_eq(a.n, 0);
    cr_assert_eq(a.min_ttl, 0);
    response(&p, 0x8180, "x.example", 2, 0);
    ptr(&p, 12);
    rr_a(&p, 0x80000000u, "192.0.2.1"); /* top bit set: 0 (RFC 2181) */
    ptr(&p, 12);
    rr_a(&p, 7, "192.0.2.2");
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), 0);
    cr_assert_eq(a.a[0].ttl, 0);
    cr_assert_eq(a.min_ttl, 0);
}

Test(dnsmsg, response_keeps_at_most_64_addresses)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8180, "many.example", 70, 0);
    for (int i = 0; i < 70; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "192.0.2.%d", i);
        ptr(&p, 12);
        rr_a(&p, 100 - (uint32_t)i, ip);
    }
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), 0);
    cr_assert_eq(a.n, DNS_MAX_ADDRS);
    addr_is(&a.a[63], "192.0.2.63");
    cr_assert_eq(a.min_ttl, 31); /* the records past 64 still count */
}

Test(dnsmsg, response_refuses_malformed)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x0180, "x.example", 0, 0); /* QR=0 */
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), -1);
    hdr(&p, 1, 0x8180, 0, 0, 0, 0); /* no question */
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), -1);
    response(&p, 0x8180, "x.example", 2, 0); /* one answer of two */
    ptr(&p, 12);
    rr_a(&p, 1, "192.0.2.1");
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), -1);
    response(&p, 0x8180, "x.example", 1, 0); /* rdata past the end */
    ptr(&p, 12);
    rr_a(&p, 1, "192.0.2.1");
    cr_assert_eq(dns_parse_response(p.b, p.n - 1, NULL, &a), -1);
    response(&p, 0x8180, "x.example", 1, 0); /* an A of 5 bytes */
    ptr(&p, 12);
    rr_head(&p, DNS_A, DNS_CLASS_IN, 1, 5);
    u32(&p, 0), u8(&p, 0);
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), -1);
    response(&p, 0x8180, "x.example", 1, 0); /* a CNAME with a byte after its name */
    ptr(&p, 12);
    rr_head(&p, DNS_CNAME, DNS_CLASS_IN, 1, 3);
    ptr(&p, 12), u8(&p, 0);
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), -1);
}

/* A response with one answer whose owner name is `wire`. */
static int owner_is(const uint8_t *wire, size_t n)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8180, "x.example", 1, 0);
    memcpy(p.b + p.n, wire, n);
    p.n += n;
    rr_a(&p, 1, "192.0.2.1");
    return dns_parse_response(p.b, p.n, NULL, &a);
}

Test(dnsmsg, response_refuses_bad_pointers)
{
    /* the answer's owner starts at 27 (12 + 11 + 4) */
    static const uint8_t loop[] = {1, 'a', 0xc0, 27};  /* back to its own start */
    static const uint8_t self[] = {0xc0, 27};
    static const uint8_t forward[] = {0xc0, 29, 0};
    static const uint8_t beyond[] = {0xc3, 0xff};
    static const uint8_t cut[] = {0xc0};
    static const uint8_t good[] = {1, 'a', 0xc0, 12};
    cr_assert_eq(owner_is(loop, sizeof loop), -1);
    cr_assert_eq(owner_is(self, sizeof self), -1);
    cr_assert_eq(owner_is(forward, sizeof forward), -1);
    cr_assert_eq(owner_is(beyond, sizeof beyond), -1);
    cr_assert_eq(owner_is(cut, sizeof cut), -1);
    cr_assert_eq(owner_is(good, sizeof good), 0);
}

/* An answer owner reached through `jumps` pointers, each to the one before:
 * the first answer's data (a private type) holds jumps - 1 bare pointers, the
 * first of them to the question name; the second answer's owner points at the last. */
static int pointer_chain(int jumps)
{
    struct pk p;
    struct dns_answers a;
    response(&p, 0x8180, "x.example", 2, 0);
    ptr(&p, 12);
    rr_head(&p, 0xff00, DNS_CLASS_IN, 1, (uint16_t)(2 * (jumps - 1)));
    size_t last = 12;
    for (int i = 0; i < jumps - 1; i++) {
        size_t at = p.n;
        ptr(&p, last);
        last = at;
    }
    ptr(&p, last);
    rr_a(&p, 1, "192.0.2.1");
    if (dns_parse_response(p.b, p.n, NULL, &a) < 0)
        return -1;
    cr_assert_eq(a.n, 1);
    return 0;
}

Test(dnsmsg, response_caps_pointer_jumps)
{
    cr_assert_eq(pointer_chain(2), 0);
    cr_assert_eq(pointer_chain(DNS_MAX_JUMPS), 0);
    cr_assert_eq(pointer_chain(DNS_MAX_JUMPS + 1), -1);
}

Test(dnsmsg, response_refuses_names_over_255_through_pointers)
{
    struct pk p;
    struct dns_answers a;
    char l63[64], longest[300];
    memset(l63, 'a', 63), l63[63] = '\0';
    snprintf(longest, sizeof longest, "%s.%s.%s.%.61s", l63, l63, l63, l63);
    response(&p, 0x8180, longest, 1, 0);
    ptr(&p, 12);
    rr_a(&p, 1, "192.0.2.1");
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), 0);
    response(&p, 0x8180, longest, 1, 0);
    labels(&p, "b"); /* b + 255 bytes */
    ptr(&p, 12);
    rr_a(&p, 1, "192.0.2.1");
    cr_assert_eq(dns_parse_response(p.b, p.n, NULL, &a), -1);
}

/* ---- filtering ---- */

struct calls {
    int n;
    int refused;
};

/* Refuses 10.0.0.0/8 and fc00::/7, counts its calls. */
static bool public_only(int family, const uint8_t *addr, void *arg)
{
    struct calls *c = arg;
    c->n++;
    bool ok = family == AF_INET ? addr[0] != 10 : (addr[0] & 0xfe) != 0xfc;
    c->refused += !ok;
    return ok;
}

/* www.example.com: CNAME web.example.com, then its A 10.0.0.1, A
 * 203.0.113.5 and AAAA fd00::1, all compressed; an NS in the authority
 * section and an EDNS OPT in the additional one. */
static void mixed_response(struct pk *p, uint16_t flags)
{
    hdr(p, 0x4242, flags, 1, 4, 1, 1);
    name(p, "www.example.com");
    u16(p, DNS_A), u16(p, DNS_CLASS_IN);
    ptr(p, 12);
    rr_head(p, DNS_CNAME, DNS_CLASS_IN, 300, 6);
    size_t web = labels(p, "web");
    ptr(p, 16);
    ptr(p, web);
    rr_a(p, 60, "10.0.0.1");
    ptr(p, web);
    rr_a(p, 30, "203.0.113.5");
    ptr(p, web);
    rr_aaaa(p, 60, "fd00::1");
    ptr(p, 16);
    rr_head(p, 2, DNS_CLASS_IN, 86400, 6);
    labels(p, "ns1");
    ptr(p, 16);
    opt(p);
}

Test(dnsmsg, filter_removes_private_addresses)
{
    struct pk p;
    struct dns_answers a;
    struct calls c = {0};
    uint8_t out[512];
    mixed_response(&p, 0x81a0); /* RD RA AD */
    int n = dns_filter_response(p.b, p.n, public_only, &c, out, sizeof out);
    cr_assert_gt(n, 0);
    cr_assert_eq(c.n, 3);
    cr_assert_eq(c.refused, 2);
    cr_assert_eq(out[0], 0x42);
    cr_assert_eq(out[1], 0x42);
    cr_assert_eq(out[2], 0x81);
    cr_assert_eq(out[3], 0x80); /* AD cleared */
    cr_assert_eq(out[4] << 8 | out[5], 1);
    cr_assert_eq(out[6] << 8 | out[7], 2); /* the CNAME and 203.0.113.5 */
    cr_assert_eq(out[8] << 8 | out[9], 0);
    cr_assert_eq(out[10] << 8 | out[11], 0);
    struct dns_query q = query_for("www.example.com", DNS_A);
    cr_assert_eq(dns_parse_response(out, (size_t)n, &q, &a), 0);
    cr_assert_eq(a.n, 1);
    addr_is(&a.a[0], "203.0.113.5");
    cr_assert_eq(a.a[0].ttl, 30);
    cr_assert_eq(a.min_ttl, 30);
    cr_assert_eq(a.id, 0x4242);
}

Test(dnsmsg, filter_rebuilds_without_compression)
{
    static const uint8_t want[] = {
        0x00, 0x05, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
        1, 'A', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
        /* A CNAME mx.a.test, expanded from "mx" + pointer */
        1, 'A', 4, 't', 'e', 's', 't', 0, 0, 5, 0, 1, 0, 0, 0, 9, 0, 11,
        2, 'm', 'x', 1, 'A', 4, 't', 'e', 's', 't', 0,
        /* mx.a.test A 203.0.113.5 */
        2, 'm', 'x', 1, 'A', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1, 0, 0, 0, 8, 0, 4,
        203, 0, 113, 5,
        /* A MX 10 mx.a.test, the name expanded */
        1, 'A', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1, 0, 0, 0, 7, 0, 13,
        0, 10, 2, 'm', 'x', 1, 'A', 4, 't', 'e', 's', 't', 0,
    };
    struct pk p;
    struct calls c = {0};
    uint8_t out[512];
    hdr(&p, 5, 0x8180, 1, 4, 0, 0);
    name(&p, "A.test");
    u16(&p, DNS_A), u16(&p, DNS_CLASS_IN);
    ptr(&p, 12);
    rr_head(&p, DNS_CNAME, DNS_CLASS_IN, 9, 5);
    size_t mx = labels(&p, "mx");
    ptr(&p, 12);
    ptr(&p, mx);
    rr_a(&p, 8, "203.0.113.5");
    ptr(&p, mx);
    rr_a(&p, 8, "10.1.2.3");
    ptr(&p, 12);
    rr_head(&p, 15, DNS_CLASS_IN, 7, 4);
    u16(&p, 10), ptr(&p, mx);
    int n = dns_filter_response(p.b, p.n, public_only, &c, out, sizeof out);
    cr_assert_eq(n, sizeof want);
    cr_assert_eq(memcmp(out, want, sizeof want), 0);
    /* one byte short */
    c = (struct calls){0};
    cr_assert_eq(dns_filter_response(p.b, p.n, public_only, &c, out, sizeof want - 1), -1);
}

static bool keep_all(int family, const uint8_t *addr, void *arg)
{
    (void)family, (void)addr;
    ++*(int *)arg;
    return true;
}

Test(dnsmsg, filter_keeping_everything_copies)
{
    struct pk p;
    uint8_t out[512];
    int calls = 0;
    mixed_response(&p, 0x8180);
    cr_assert_eq(dns_filter_response(p.b, p.n, keep_all, &calls, out, sizeof out), (int)p.n);
    cr_assert_eq(calls, 3);
    cr_assert_eq(memcmp(out, p.b, p.n), 0);
    cr_assert_eq(dns_filter_response(p.b, p.n, keep_all, &calls, out, p.n - 1), -1);
}

Test(dnsmsg, filter_refuses_malformed_without_calling_keep)
{
    struct pk p;
    uint8_t out[512];
    int calls = 0;
    mixed_response(&p, 0x8180);
    p.b[7] = 7; /* ANCOUNT 7: the NS and the OPT are read as answers, then nothing */
    cr_assert_eq(dns_filter_response(p.b, p.n, keep_all, &calls, out, sizeof out), -1);
    cr_assert_eq(calls, 0);
    mixed_response(&p, 0x0180); /* a query */
    cr_assert_eq(dns_filter_response(p.b, p.n, keep_all, &calls, out, sizeof out), -1);
    cr_assert_eq(calls, 0);
}
