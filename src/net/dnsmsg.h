/* DNS wire format (RFC 1035) for the filtering stub resolver: parse, build and filter messages. */
#ifndef SB_NET_DNSMSG_H
#define SB_NET_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every packet is untrusted (a sandboxed program's query, an upstream
 * server's response). Names: labels of at most 63 bytes, at most 255 bytes in
 * wire form, no extended label types; a compression pointer must point
 * backwards (before the start of the labels that reached it, never into the
 * header), and a name follows at most DNS_MAX_JUMPS of them. Packets over
 * 65535 bytes are refused.
 */

#define DNS_MAX_NAME 256  /* dotted text of a name, with its NUL */
#define DNS_MAX_JUMPS 64  /* compression pointers followed for one name */
#define DNS_MAX_CHAIN 16  /* names in a CNAME chain, the question's included */
#define DNS_MAX_ADDRS 64  /* addresses dns_parse_response collects */

#define DNS_A 1
#define DNS_CNAME 5
#define DNS_AAAA 28
#define DNS_ANY 255
#define DNS_CLASS_IN 1

#define DNS_NOERROR 0
#define DNS_SERVFAIL 2
#define DNS_NXDOMAIN 3
#define DNS_REFUSED 5

struct dns_query {
    uint16_t id;
    uint16_t flags;          /* as received */
    char name[DNS_MAX_NAME]; /* lowercase, dotted, no trailing dot; "" for the root */
    uint16_t qtype, qclass;
    size_t question_end;     /* offset just past the (first) question in the packet */
};

/* Parses a query: QR=0, opcode 0 (QUERY), QDCOUNT 1, ANCOUNT and NSCOUNT 0
 * (the additional section, e.g. an EDNS OPT, is ignored). A label holding a
 * byte outside '!'..'~', a '.' or a '\\' is refused: the dotted text must name
 * exactly one wire name. Returns 0, or -1 if malformed (*q is then zeroed). */
int dns_parse_query(const uint8_t *pkt, size_t len, struct dns_query *q);

/* Builds a response to q (from dns_parse_query(query, qlen)) carrying only
 * the question, copied from the query's bytes [12, question_end), and rcode
 * (0..15): QR=1, opcode 0, RD copied from the query, RA=1, other flags 0.
 * out may be query. Returns the length written, or -1 if out is too small or
 * the arguments are inconsistent. */
int dns_build_error(const uint8_t *query, size_t qlen, const struct dns_query *q, int rcode,
                    uint8_t *out, size_t outlen);

/* Builds a query: RD=1, one question (name, qtype, class IN), no EDNS. name is
 * dotted text, "" or "." for the root, one trailing dot allowed; an empty
 * label, a label over 63 or a name over 255 bytes in wire form fails. Returns
 * the length, or -1. */
int dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out, size_t outlen);

struct dns_addr {
    int family;              /* AF_INET or AF_INET6 */
    uint8_t addr[16];        /* network order; the last 12 bytes 0 for AF_INET */
    uint32_t ttl;            /* as sent (0 if the top bit was set, RFC 2181 §8) */
};

struct dns_answers {
    uint16_t id;
    int rcode;
    bool truncated;                 /* TC */
    size_t n;
    /* A and AAAA records found in the answer section, in order; more are ignored */
    struct dns_addr a[DNS_MAX_ADDRS];
    uint32_t min_ttl;               /* smallest TTL among all answer RRs (for caching), 0 if none */
};

/* Parses a response: QR=1, opcode 0, QDCOUNT 1. When expect != NULL its
 * question must match (name case-insensitively, qtype, qclass; the id is the
 * caller's to check, against the id it sent upstream). Collects every A
 * (class IN, 4 bytes) and AAAA (class IN, 16 bytes) answer record whose owner
 * is the question name or a name reached from it through CNAME records (class
 * IN) of the answer section, in any order, at most DNS_MAX_CHAIN names;
 * records of other owners are ignored. The authority and additional sections
 * are not read. A class-IN A or AAAA record of another length, or a CNAME
 * whose data is not exactly one name, is malformed. Returns 0, or -1 if
 * malformed or mismatched. */
int dns_parse_response(const uint8_t *pkt, size_t len, const struct dns_query *expect,
                       struct dns_answers *out);

/* Rewrites the 16-bit id of a packet in place (forwarding keeps the client's
 * id); a packet shorter than 2 bytes is left alone. */
void dns_set_id(uint8_t *pkt, size_t len, uint16_t id);

/* Filters a response (checked as dns_parse_response does, without expect):
 * keep(family, addr, arg) is called exactly once for each A/AAAA answer
 * record (class IN), in order. If it returns true for all, the packet is
 * copied to out unchanged. Otherwise out gets the response rebuilt without
 * compression: the same id and flags (but AD cleared), the question, the kept
 * answer records with every name expanded (also inside the data of the types
 * RFC 3597 §4 lets compress: NS, CNAME, SOA, PTR, MX, SRV, ...), and
 * NSCOUNT = ARCOUNT = 0 (the authority and additional sections, EDNS OPT
 * included, are dropped). out must not overlap pkt. Returns the length
 * written, or -1 if malformed or out is too small (the rebuilt response can be
 * longer than pkt). */
int dns_filter_response(const uint8_t *pkt, size_t len,
                        bool (*keep)(int family, const uint8_t *addr, void *arg), void *arg,
                        uint8_t *out, size_t outlen);

#endif
