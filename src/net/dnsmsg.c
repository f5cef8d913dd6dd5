/* DNS wire format for the filtering stub resolver: names, questions, answers, filtering. */
#include "net/dnsmsg.h"

#include <string.h>
#include <sys/socket.h>

#define HDR 12            /* header bytes */
#define MAX_WIRE 255      /* a name in wire form, its final 0 included */
#define MAX_MSG 65535     /* the most a DNS message can hold, even over TCP */

#define F_QR 0x8000
#define F_OPCODE 0x7800
#define F_TC 0x0200
#define F_RD 0x0100
#define F_RA 0x0080
#define F_AD 0x0020
#define F_RCODE 0x000f

/* A name in wire form without compression, case as sent. */
struct wname {
    size_t len;
    uint8_t b[MAX_WIRE];
};

struct hdr {
    uint16_t id, flags, qd, an, ns, ar;
};

/* A response's header and question; `answers` is where its answer section starts. */
struct resp {
    struct hdr h;
    struct wname qname;
    uint16_t qtype, qclass;
    size_t answers;
};

struct rr {
    struct wname owner;
    uint16_t type, cls;
    uint32_t ttl;           /* as sent */
    size_t rdata, rdlen;    /* offset of the data in the packet, its length */
    struct wname target;    /* a class-IN CNAME's data */
};

/* The question name and the aliases reached from it. */
struct chain {
    size_t n;
    struct wname names[DNS_MAX_CHAIN];
};

/* An output buffer that stops taking bytes at the first one that does not fit. */
struct wbuf {
    uint8_t *p;
    size_t cap, len;
    bool ok;
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

static int hdr_read(const uint8_t *pkt, size_t len, struct hdr *h)
{
    if (!pkt || len < HDR || len > MAX_MSG)
        return -1;
    h->id = get16(pkt);
    h->flags = get16(pkt + 2);
    h->qd = get16(pkt + 4);
    h->an = get16(pkt + 6);
    h->ns = get16(pkt + 8);
    h->ar = get16(pkt + 10);
    return 0;
}

/* Reads the name at off, following compression pointers; *next is the offset
 * just past the name where it sits (past its first pointer, if any). Each
 * pointer must point before the labels that led to it (so the offsets it may
 * reach only shrink: no loop), and after the header. */
static int name_read(const uint8_t *pkt, size_t len, size_t off, struct wname *n, size_t *next)
{
    size_t pos = off, limit = off, end = 0;
    int jumps = 0;
    n->len = 0;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t c = pkt[pos];
        if ((c & 0xc0) == 0xc0) {
            if (len - pos < 2)
                return -1;
            size_t to = (size_t)(c & 0x3f) << 8 | pkt[pos + 1];
            if (to < HDR || to >= limit || ++jumps > DNS_MAX_JUMPS)
                return -1;
            if (!end)
                end = pos + 2;
            pos = limit = to;
        } else if (c & 0xc0) {
            return -1; /* 0x40 extended, 0x80 reserved label types; or a label over 63 */
        } else if (c == 0) {
            n->b[n->len++] = 0;
            *next = end ? end : pos + 1;
            return 0;
        } else {
            /* room must stay for the final 0 */
            if (n->len + 1 + c > MAX_WIRE - 1 || len - pos < 1 + (size_t)c)
                return -1;
            memcpy(n->b + n->len, pkt + pos, 1 + (size_t)c);
            n->len += 1 + (size_t)c;
            pos += 1 + (size_t)c;
        }
    }
}

/* Dotted lowercase text of a name (at most 253 characters). A byte that would
 * make the text ambiguous or unprintable fails. */
static int name_text(const struct wname *n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; n->b[i]; i += 1 + n->b[i]) {
        if (o)
            out[o++] = '.';
        for (size_t j = 1; j <= n->b[i]; j++) {
            uint8_t c = n->b[i + j];
            if (c <= ' ' || c >= 0x7f || c == '.' || c == '\\')
                return -1;
            out[o++] = (char)lower(c);
        }
    }
    out[o] = '\0';
    return 0;
}

/* Wire form of dotted text: "" and "." are the root, one trailing dot is allowed. */
static int name_from_text(const char *s, struct wname *n)
{
    n->len = 0;
    if (s[0] == '.' && s[1] == '\0')
        s++;
    while (*s) {
        size_t l = 0;
        while (s[l] && s[l] != '.' && l <= 63)
            l++;
        if (l == 0 || l > 63 || n->len + 1 + l > MAX_WIRE - 1)
            return -1;
        n->b[n->len] = (uint8_t)l;
        memcpy(n->b + n->len + 1, s, l);
        n->len += 1 + l;
        s += l;
        if (*s == '.')
            s++;
    }
    n->b[n->len++] = 0;
    return 0;
}

/* Length bytes are at most 63, below 'A': lowering every byte compares labels only. */
static bool name_eq(const struct wname *a, const struct wname *b)
{
    if (a->len != b->len)
        return false;
    for (size_t i = 0; i < a->len; i++)
        if (lower(a->b[i]) != lower(b->b[i]))
            return false;
    return true;
}

static int question_read(const uint8_t *pkt, size_t len, size_t *off, struct wname *n,
                         uint16_t *type, uint16_t *cls)
{
    size_t p;
    if (name_read(pkt, len, *off, n, &p) < 0 || len - p < 4)
        return -1;
    *type = get16(pkt + p);
    *cls = get16(pkt + p + 2);
    *off = p + 4;
    return 0;
}

/* Reads the resource record at *off and moves *off past it. A class-IN A or
 * AAAA of the wrong length, or a class-IN CNAME whose data is not exactly one
 * name, is malformed. */
static int rr_read(const uint8_t *pkt, size_t len, size_t *off, struct rr *r)
{
    size_t p;
    if (name_read(pkt, len, *off, &r->owner, &p) < 0 || len - p < 10)
        return -1;
    r->type = get16(pkt + p);
    r->cls = get16(pkt + p + 2);
    r->ttl = get32(pkt + p + 4);
    r->rdlen = get16(pkt + p + 8);
    r->rdata = p + 10;
    if (len - r->rdata < r->rdlen)
        return -1;
    *off = r->rdata + r->rdlen;
    if (r->cls != DNS_CLASS_IN)
        return 0;
    if ((r->type == DNS_A && r->rdlen != 4) || (r->type == DNS_AAAA && r->rdlen != 16))
        return -1;
    if (r->type == DNS_CNAME &&
        (name_read(pkt, len, r->rdata, &r->target, &p) < 0 || p != *off))
        return -1;
    return 0;
}

/* AF_INET or AF_INET6 for an address record, else 0. */
static int rr_family(const struct rr *r)
{
    if (r->cls != DNS_CLASS_IN)
        return 0;
    return r->type == DNS_A ? AF_INET : r->type == DNS_AAAA ? AF_INET6 : 0;
}

/* Header and question of a response: QR=1, opcode QUERY, one question. */
static int resp_read(const uint8_t *pkt, size_t len, struct resp *r)
{
    if (hdr_read(pkt, len, &r->h) < 0 || !(r->h.flags & F_QR) || (r->h.flags & F_OPCODE) ||
        r->h.qd != 1)
        return -1;
    r->answers = HDR;
    return question_read(pkt, len, &r->answers, &r->qname, &r->qtype, &r->qclass);
}

static int answers_check(const uint8_t *pkt, size_t len, const struct resp *r)
{
    size_t off = r->answers;
    struct rr rr;
    for (unsigned i = 0; i < r->h.an; i++)
        if (rr_read(pkt, len, &off, &rr) < 0)
            return -1;
    return 0;
}

static bool question_is(const struct resp *r, const struct dns_query *q)
{
    struct wname n;
    if (r->qtype != q->qtype || r->qclass != q->qclass || !memchr(q->name, 0, sizeof q->name))
        return false;
    return name_from_text(q->name, &n) == 0 && name_eq(&n, &r->qname);
}

static bool chain_has(const struct chain *c, const struct wname *n)
{
    for (size_t i = 0; i < c->n; i++)
        if (name_eq(&c->names[i], n))
            return true;
    return false;
}

/* One walk of the (checked) answer section, adding the target of every CNAME
 * whose owner is in the chain. *passed: a CNAME was passed over whose owner
 * may join the chain later. Returns how many names were added. */
static size_t chain_walk(const uint8_t *pkt, size_t len, const struct resp *r, struct chain *c,
                         bool *passed)
{
    size_t off = r->answers, added = 0;
    struct rr rr;
    *passed = false;
    for (unsigned i = 0; i < r->h.an && rr_read(pkt, len, &off, &rr) == 0; i++) {
        if (rr.type != DNS_CNAME || rr.cls != DNS_CLASS_IN)
            continue;
        if (!chain_has(c, &rr.owner))
            *passed = true;
        else if (c->n < DNS_MAX_CHAIN && !chain_has(c, &rr.target)) {
            c->names[c->n++] = rr.target;
            added++;
        }
    }
    return added;
}

/* The chain from the question name, whatever the order of the CNAMEs (one
 * walk when they come in order, as resolvers send them). */
static void chain_build(const uint8_t *pkt, size_t len, const struct resp *r, struct chain *c)
{
    bool passed = true;
    size_t added = 1;
    c->n = 1;
    c->names[0] = r->qname;
    while (added && passed)
        added = chain_walk(pkt, len, r, c, &passed);
}

static void collect(const uint8_t *pkt, size_t len, const struct resp *r, const struct chain *c,
                    struct dns_answers *out)
{
    size_t off = r->answers;
    struct rr rr;
    for (unsigned i = 0; i < r->h.an && rr_read(pkt, len, &off, &rr) == 0; i++) {
        uint32_t ttl = rr.ttl > INT32_MAX ? 0 : rr.ttl;
        if (i == 0 || ttl < out->min_ttl)
            out->min_ttl = ttl;
        int family = rr_family(&rr);
        if (!family || out->n == DNS_MAX_ADDRS || !chain_has(c, &rr.owner))
            continue;
        struct dns_addr *a = &out->a[out->n++];
        a->family = family;
        memcpy(a->addr, pkt + rr.rdata, rr.rdlen);
        a->ttl = ttl;
    }
}

int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q)
{
    struct hdr h;
    struct wname n;
    size_t off = HDR;
    memset(q, 0, sizeof *q);
    if (hdr_read(pkt, len, &h) < 0 || (h.flags & (F_QR | F_OPCODE)) || h.qd != 1 || h.an || h.ns)
        return -1;
    if (question_read(pkt, len, &off, &n, &q->qtype, &q->qclass) < 0 ||
        name_text(&n, q->name) < 0) {
        memset(q, 0, sizeof *q);
        return -1;
    }
    q->id = h.id;
    q->flags = h.flags;
    q->question_end = off;
    return 0;
}

int dns_build_error(const uint8_t *query, size_t qlen, const struct dns_query *q, int rcode,
                    uint8_t *out, size_t outlen)
{
    size_t end = q->question_end;
    /* the shortest question: the root, type and class */
    if (!query || !out || qlen > MAX_MSG || end < HDR + 5 || end > qlen || rcode < 0 ||
        rcode > 15 || outlen < end)
        return -1;
    memmove(out + HDR, query + HDR, end - HDR);
    put16(out, q->id);
    put16(out + 2, (uint16_t)(F_QR | (q->flags & F_RD) | F_RA | rcode));
    put16(out + 4, 1);
    put16(out + 6, 0);
    put16(out + 8, 0);
    put16(out + 10, 0);
    return (int)end;
}

int dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out, size_t outlen)
{
    struct wname n;
    if (!name || !out || name_from_text(name, &n) < 0 || outlen < HDR + n.len + 4)
        return -1;
    memset(out, 0, HDR);
    put16(out, id);
    put16(out + 2, F_RD);
    put16(out + 4, 1);
    memcpy(out + HDR, n.b, n.len);
    put16(out + HDR + n.len, qtype);
    put16(out + HDR + n.len + 2, DNS_CLASS_IN);
    return (int)(HDR + n.len + 4);
}

int dns_parse_response(const uint8_t *pkt, size_t len, const struct dns_query *expect,
                       struct dns_answers *out)
{
    struct resp r;
    struct chain c;
    memset(out, 0, sizeof *out);
    if (resp_read(pkt, len, &r) < 0 || (expect && !question_is(&r, expect)) ||
        answers_check(pkt, len, &r) < 0)
        return -1;
    chain_build(pkt, len, &r, &c);
    collect(pkt, len, &r, &c, out);
    out->id = r.h.id;
    out->rcode = r.h.flags & F_RCODE;
    out->truncated = (r.h.flags & F_TC) != 0;
    return 0;
}

void dns_set_id(uint8_t *pkt, size_t len, uint16_t id)
{
    if (pkt && len >= 2)
        put16(pkt, id);
}

static void w_put(struct wbuf *w, const void *b, size_t n)
{
    if (!w->ok || n > w->cap - w->len) {
        w->ok = false;
        return;
    }
    memcpy(w->p + w->len, b, n);
    w->len += n;
}

static void w_u16(struct wbuf *w, uint16_t v)
{
    uint8_t b[2];
    put16(b, v);
    w_put(w, b, 2);
}

/* How names sit in the data of the types that may compress them (RFC 1035
 * §3.3, RFC 3597 §4, DNAME): 'n' a name, a digit that many bytes; whatever
 * follows is copied as it is. Other types never carry compressed names. */
static const struct {
    uint16_t type;
    const char *layout;
} rdata_layouts[] = {
    {2, "n"},   /* NS */       {3, "n"},  /* MD */    {4, "n"},   /* MF */
    {5, "n"},   /* CNAME */    {6, "nn"}, /* SOA */   {7, "n"},   /* MB */
    {8, "n"},   /* MG */       {9, "n"},  /* MR */    {12, "n"},  /* PTR */
    {14, "nn"}, /* MINFO */    {15, "2n"}, /* MX */   {17, "nn"}, /* RP */
    {18, "2n"}, /* AFSDB */    {21, "2n"}, /* RT */   {26, "2nn"}, /* PX */
    {33, "6n"}, /* SRV */      {36, "2n"}, /* KX */   {39, "n"},  /* DNAME */
};

static const char *rdata_layout(uint16_t type)
{
    for (size_t i = 0; i < sizeof rdata_layouts / sizeof rdata_layouts[0]; i++)
        if (rdata_layouts[i].type == type)
            return rdata_layouts[i].layout;
    return "";
}

/* Copies a record's data with its names expanded; they must lie inside it. */
static int rdata_write(struct wbuf *w, const uint8_t *pkt, size_t len, const struct rr *rr)
{
    size_t p = rr->rdata, end = rr->rdata + rr->rdlen;
    for (const char *op = rdata_layout(rr->type); *op; op++) {
        if (*op == 'n') {
            struct wname n;
            size_t next;
            if (name_read(pkt, len, p, &n, &next) < 0 || next > end)
                return -1;
            w_put(w, n.b, n.len);
            p = next;
        } else {
            size_t k = (size_t)(*op - '0');
            if (end - p < k)
                return -1;
            w_put(w, pkt + p, k);
            p += k;
        }
    }
    w_put(w, pkt + p, end - p);
    return 0;
}

static int rr_write(struct wbuf *w, const uint8_t *pkt, size_t len, const struct rr *rr)
{
    w_put(w, rr->owner.b, rr->owner.len);
    w_u16(w, rr->type);
    w_u16(w, rr->cls);
    w_u16(w, (uint16_t)(rr->ttl >> 16)); /* the TTL as sent */
    w_u16(w, (uint16_t)rr->ttl);
    size_t at = w->len;
    w_u16(w, 0);
    if (rdata_write(w, pkt, len, rr) < 0)
        return -1;
    if (w->ok) {
        size_t n = w->len - at - 2;
        if (n > 0xffff)
            return -1;
        put16(w->p + at, (uint16_t)n);
    }
    return 0;
}

/* keep() once per address record, in order; a set bit in drop marks a refused one. */
static size_t decide(const uint8_t *pkt, size_t len, const struct resp *r,
                     bool (*keep)(int, const uint8_t *, void *), void *arg, uint8_t *drop)
{
    size_t off = r->answers, dropped = 0;
    struct rr rr;
    for (unsigned i = 0; i < r->h.an && rr_read(pkt, len, &off, &rr) == 0; i++) {
        int family = rr_family(&rr);
        uint8_t addr[16] = {0};
        if (!family)
            continue;
        memcpy(addr, pkt + rr.rdata, rr.rdlen);
        if (!keep(family, addr, arg)) {
            drop[i / 8] |= (uint8_t)(1u << (i % 8));
            dropped++;
        }
    }
    return dropped;
}

/* The response without the dropped answers, no compression, no authority or additional section. */
static int rebuild(const uint8_t *pkt, size_t len, const struct resp *r, const uint8_t *drop,
                   uint8_t *out, size_t outlen)
{
    struct wbuf w = {out, outlen < MAX_MSG ? outlen : MAX_MSG, 0, true};
    size_t off = r->answers;
    uint16_t kept = 0;
    struct rr rr;
    w_u16(&w, r->h.id);
    w_u16(&w, (uint16_t)(r->h.flags & ~F_AD)); /* no longer what was validated */
    w_u16(&w, 1);
    w_u16(&w, 0); /* ANCOUNT, set at the end */
    w_u16(&w, 0);
    w_u16(&w, 0);
    w_put(&w, r->qname.b, r->qname.len);
    w_u16(&w, r->qtype);
    w_u16(&w, r->qclass);
    for (unsigned i = 0; i < r->h.an; i++) {
        if (rr_read(pkt, len, &off, &rr) < 0)
            return -1;
        if ((drop[i / 8] >> (i % 8)) & 1)
            continue;
        if (rr_write(&w, pkt, len, &rr) < 0)
            return -1;
        kept++;
    }
    if (!w.ok)
        return -1;
    put16(out + 6, kept);
    return (int)w.len;
}

int dns_filter_response(const uint8_t *pkt, size_t len,
                        bool (*keep)(int family, const uint8_t *addr, void *arg), void *arg,
                        uint8_t *out, size_t outlen)
{
    struct resp r;
    uint8_t drop[(MAX_MSG + 1) / 8] = {0}; /* one bit per answer record */
    if (!keep || !out || resp_read(pkt, len, &r) < 0 || answers_check(pkt, len, &r) < 0)
        return -1;
    if (decide(pkt, len, &r, keep, arg, drop))
        return rebuild(pkt, len, &r, drop, out, outlen);
    if (outlen < len)
        return -1;
    memmove(out, pkt, len);
    return (int)len;
}
