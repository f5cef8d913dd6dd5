/* Fuzz target `dns`: the resolver's DNS wire format (src/net/dnsmsg.c) on hostile packets. */
/* Every input is a packet (from a sandboxed program or an upstream server)
 * and, read as text, a name for dns_build_query. Whatever is accepted must
 * hold the documented promises: query names are clean lowercase text, replies
 * built from a query parse as its responses, at most 64 addresses, a filtered
 * response parses again with exactly the kept addresses and filtering it
 * again keeps everything. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_common.h"
/* FUZZ_SRC in the Makefile does not take src/net/: the module is compiled in here. */
#include "net/dnsmsg.h"

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out1[65536], out2[65536], copy[65536];

static bool text_char_ok(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '.' && c != '\\';
}

static bool answers_eq(const struct dns_answers *a, const struct dns_answers *b)
{
    if (a->id != b->id || a->rcode != b->rcode || a->truncated != b->truncated ||
        a->n != b->n || a->min_ttl != b->min_ttl)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (a->a[i].family != b->a[i].family || a->a[i].ttl != b->a[i].ttl ||
            memcmp(a->a[i].addr, b->a[i].addr, 16))
            return false;
    return true;
}

static void check_query_name(const char *name)
{
    size_t n = strnlen(name, DNS_MAX_NAME);
    if (n > 253)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((name[i] != '.' && !text_char_ok((unsigned char)name[i])) ||
            (name[i] >= 'A' && name[i] <= 'Z'))
            abort();
    if (n && (name[0] == '.' || name[n - 1] == '.' || strstr(name, "..")))
        abort();
}

static void check_query(const uint8_t *data, size_t size)
{
    static const int rcodes[] = {DNS_NOERROR, DNS_SERVFAIL, DNS_NXDOMAIN, DNS_REFUSED};
    struct dns_query q, back;
    struct dns_answers a;
    if (dns_parse_query(data, size, &q) < 0)
        return;
    check_query_name(q.name);
    if (q.question_end < 17 || q.question_end > size || (q.flags & 0xf800))
        abort();
    for (size_t i = 0; i < sizeof rcodes / sizeof rcodes[0]; i++) {
        int n = dns_build_error(data, size, &q, rcodes[i], out1, sizeof out1);
        if (n != (int)q.question_end || dns_parse_response(out1, (size_t)n, &q, &a) < 0)
            abort();
        if (a.id != q.id || a.rcode != rcodes[i] || a.n || a.truncated || a.min_ttl)
            abort();
    }
    /* a fresh query for the same question: the same wire length, name and type */
    int n = dns_build_query(0x1234, q.name, q.qtype, out1, sizeof out1);
    if (n != (int)q.question_end || dns_parse_query(out1, (size_t)n, &back) < 0)
        abort();
    if (back.id != 0x1234 || strcmp(back.name, q.name) || back.qtype != q.qtype ||
        back.qclass != DNS_CLASS_IN)
        abort();
}

/* The response's own question as a query (QR cleared, no answers), if it parses as one. */
static int question_of(const uint8_t *data, size_t size, struct dns_query *q)
{
    if (size < 12 || size > sizeof copy)
        return -1;
    memcpy(copy, data, size);
    copy[2] &= 0x7f;
    memset(copy + 6, 0, 4);
    return dns_parse_query(copy, size, q);
}

static int check_response(const uint8_t *data, size_t size, struct dns_answers *a)
{
    struct dns_query q;
    struct dns_answers b;
    if (dns_parse_response(data, size, NULL, a) < 0)
        return -1;
    if (a->n > DNS_MAX_ADDRS || a->rcode < 0 || a->rcode > 15 || a->min_ttl > INT32_MAX)
        abort();
    for (size_t i = 0; i < a->n; i++) {
        static const uint8_t zero[12];
        const struct dns_addr *x = &a->a[i];
        if (x->family != AF_INET && x->family != AF_INET6)
            abort();
        if ((x->family == AF_INET && memcmp(x->addr + 4, zero, 12)) || x->ttl < a->min_ttl ||
            x->ttl > INT32_MAX)
            abort();
    }
    if (question_of(data, size, &q) == 0) {
        if (dns_parse_response(data, size, &q, &b) < 0 || !answers_eq(a, &b))
            abort();
        q.qtype ^= 1;
        if (dns_parse_response(data, size, &q, &b) == 0)
            abort();
    }
    return 0;
}

struct keeper {
    uint8_t seed;
    size_t refused;
};

static bool keep_decision(int family, const uint8_t *addr, uint8_t seed)
{
    return ((addr[0] ^ addr[family == AF_INET ? 3 : 15] ^ seed) & 1) == 0;
}

static bool keep_some(int family, const uint8_t *addr, void *arg)
{
    struct keeper *k = arg;
    if (family != AF_INET && family != AF_INET6)
        abort();
    fuzz_touch_bytes(addr, 16);
    bool keep = keep_decision(family, addr, k->seed);
    k->refused += !keep;
    return keep;
}

/* The filtered response carries exactly the kept addresses of the original. */
static void check_filtered(const struct dns_answers *in, const struct dns_answers *b, uint8_t seed)
{
    if (b->id != in->id || b->rcode != in->rcode || b->truncated != in->truncated)
        abort();
    if (b->n > in->n || (b->min_ttl && b->min_ttl < in->min_ttl))
        abort();
    if (in->n == DNS_MAX_ADDRS)
        return; /* more may have been cut off the original's list */
    size_t j = 0;
    for (size_t i = 0; i < in->n; i++) {
        if (!keep_decision(in->a[i].family, in->a[i].addr, seed))
            continue;
        if (j >= b->n || in->a[i].family != b->a[j].family || in->a[i].ttl != b->a[j].ttl ||
            memcmp(in->a[i].addr, b->a[j].addr, 16))
            abort();
        j++;
    }
    if (j != b->n)
        abort();
}

static void check_filter(const uint8_t *data, size_t size, const struct dns_answers *in)
{
    struct keeper k = {size ? data[size - 1] : 0, 0};
    struct dns_answers b;
    int n = dns_filter_response(data, size, keep_some, &k, out1, sizeof out1);
    if (n < 0)
        return;
    if (!in || dns_parse_response(out1, (size_t)n, NULL, &b) < 0)
        abort(); /* only what dns_parse_response takes, and it takes the result */
    check_filtered(in, &b, k.seed);
    if (!k.refused) {
        if ((size_t)n != size || memcmp(out1, data, size))
            abort();
        return;
    }
    if ((size_t)get16(out1 + 6) != get16(data + 6) - k.refused || get16(out1 + 8) ||
        get16(out1 + 10))
        abort();
    /* what is left passes untouched */
    struct keeper again = {k.seed, 0};
    if (dns_filter_response(out1, (size_t)n, keep_some, &again, out2, sizeof out2) != n ||
        again.refused || memcmp(out1, out2, (size_t)n))
        abort();
}

/* The input read as a dotted name: a built query parses back to it. */
static void check_text(const uint8_t *data, size_t size)
{
    char name[300];
    struct dns_query q;
    size_t n = size < sizeof name - 1 ? size : sizeof name - 1;
    memcpy(name, data, n);
    name[n] = '\0';
    int len = dns_build_query(7, name, DNS_AAAA, out1, sizeof out1);
    if (len < 0)
        return;
    if (len < 17 || len > 12 + 255 + 4)
        abort();
    bool clean = true;
    for (size_t i = 0; name[i]; i++)
        clean &= name[i] == '.' || text_char_ok((unsigned char)name[i]);
    if (dns_parse_query(out1, (size_t)len, &q) < 0) {
        if (clean)
            abort();
        return;
    }
    size_t l = strlen(name);
    if (l && name[l - 1] == '.')
        name[--l] = '\0';
    for (size_t i = 0; i < l; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            name[i] = (char)(name[i] - 'A' + 'a');
    if (strcmp(q.name, name) || q.qtype != DNS_AAAA || q.question_end != (size_t)len)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer's data is an exact-size heap copy: a read past it is caught */
    struct dns_answers a;
    check_query(data, size);
    bool parsed = check_response(data, size, &a) == 0;
    check_filter(data, size, parsed ? &a : NULL);
    check_text(data, size);
    if (size >= 2 && size <= sizeof copy) {
        memcpy(copy, data, size);
        dns_set_id(copy, size, 0xa5c3);
        if (copy[0] != 0xa5 || copy[1] != 0xc3 || memcmp(copy + 2, data + 2, size - 2))
            abort();
    }
    return 0;
}
