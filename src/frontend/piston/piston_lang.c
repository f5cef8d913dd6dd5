/* Piston runtimes: SoulBox's languages under Piston's names, their versions as semver, and node-semver ranges. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/piston/piston.h"

#define A(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

/* SoulBox name -> Piston's name, aliases, package (spec section 9). */
static const struct {
    const char *soulbox, *name, *runtime;
    const char *const *aliases;
} names[] = {
    {"ada", "ada", NULL, A("adb", "gnat")},
    {"awk", "awk", NULL, A("gawk", "mawk")},
    {"bash", "bash", NULL, A("sh")},
    {"c", "c", "gcc", A("gcc")},
    {"clojure", "clojure", NULL, A("clj")},
    {"cobol", "cobol", NULL, A("cob", "cbl")},
    {"commonlisp", "lisp", NULL, A("cl", "sbcl", "commonlisp")},
    {"cpp", "c++", "gcc", A("cpp", "g++")},
    {"crystal", "crystal", NULL, A("cr")},
    {"csharp", "csharp", "mono", A("mono", "mono-csharp", "mono-c#", "mono-cs", "c#", "cs")},
    {"d", "d", "gcc", A("gdc", "dlang")},
    {"elixir", "elixir", NULL, A("exs", "ex")},
    {"erlang", "erlang", NULL, A("erl", "escript")},
    {"forth", "forth", NULL, A("gforth", "fs")},
    {"fortran", "fortran", "gcc", A("f90", "gfortran")},
    {"go", "go", NULL, A("golang")},
    {"haskell", "haskell", NULL, A("hs", "ghc")},
    {"java", "java", NULL, NONE},
    {"javascript", "javascript", "node", A("js", "node-js", "node-javascript", "node", "nodejs")},
    {"kotlin", "kotlin", NULL, A("kt")},
    {"lua", "lua", NULL, NONE},
    {"nasm", "nasm64", "nasm", A("asm64", "nasm", "asm", "assembly")},
    {"nim", "nim", NULL, NONE},
    {"ocaml", "ocaml", NULL, A("ml")},
    {"pascal", "pascal", NULL, A("freepascal", "pp", "pas", "fpc")},
    {"perl", "perl", NULL, A("pl")},
    {"php", "php", NULL, NONE},
    {"pypy", "pypy", NULL, A("pypy3")},
    {"python", "python", NULL, A("py", "py3", "python3")},
    {"r", "rscript", NULL, A("r")},
    {"racket", "racket", NULL, A("rkt")},
    {"ruby", "ruby", NULL, A("rb")},
    {"rust", "rust", NULL, A("rs")},
    {"scala", "scala", NULL, A("sc")},
    {"scheme", "scheme", NULL, A("guile", "scm")},
    {"sql", "sqlite3", NULL, A("sqlite", "sql")},
    {"tcl", "tcl", NULL, A("tclsh")},
    {"typescript", "typescript", NULL, A("ts", "node-ts", "tsc")},
};

#define NNAMES (sizeof names / sizeof *names)

/* Reads a run of digits (leading zeros dropped); -1 if none. */
static long read_num(const char **p)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    long v = 0;
    while (isdigit((unsigned char)**p)) {
        if (v < 100000000)
            v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

bool piston_semver(const char *probe, char *out, size_t len, long v[3])
{
    const char *p = probe;
    while (*p && !isdigit((unsigned char)*p))
        p++;
    if (!*p)
        return false;
    v[0] = read_num(&p), v[1] = v[2] = 0;
    for (int i = 1; i < 3 && p[0] == '.' && isdigit((unsigned char)p[1]); i++) {
        p++;
        v[i] = read_num(&p);
    }
    snprintf(out, len, "%ld.%ld.%ld", v[0], v[1], v[2]);
    return true;
}

struct piston_rt *piston_runtimes_list(const struct lang_probe *p, size_t *n)
{
    struct piston_rt *rts = calloc(p->n ? p->n : 1, sizeof *rts);
    *n = 0;
    if (!rts)
        return NULL;
    for (size_t i = 0; i < p->n; i++) {
        const struct lang_status *ls = &p->langs[i];
        if (!ls->available)
            continue;
        struct piston_rt *rt = &rts[*n];
        rt->lang = ls->lang;
        rt->name = ls->lang->name;
        rt->aliases = NONE;
        for (size_t k = 0; k < NNAMES; k++)
            if (!strcmp(names[k].soulbox, ls->lang->name)) {
                rt->name = names[k].name;
                rt->runtime = names[k].runtime;
                rt->aliases = names[k].aliases;
            }
        if (!piston_semver(ls->version, rt->version, sizeof rt->version, rt->v))
            piston_semver("0.0.0", rt->version, sizeof rt->version, rt->v);
        (*n)++;
    }
    return rts;
}

json_t *piston_runtimes_json(const struct piston_rt *rts, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *al = json_array();
        for (const char *const *a = rts[i].aliases; *a; a++)
            json_array_append_new(al, json_string(*a));
        json_t *o = json_pack("{s:s,s:s,s:o}", "language", rts[i].name, "version",
                              rts[i].version, "aliases", al);
        if (o && rts[i].runtime)
            json_object_set_new(o, "runtime", json_string(rts[i].runtime));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* The language answers to `name`: Piston's name and aliases, SoulBox's own. */
static bool named(const struct piston_rt *rt, const char *name)
{
    if (!strcmp(rt->name, name) || !strcmp(rt->lang->name, name))
        return true;
    for (const char *const *a = rt->aliases; *a; a++)
        if (!strcmp(*a, name))
            return true;
    for (char **a = rt->lang->aliases; a && *a; a++)
        if (!strcmp(*a, name))
            return true;
    return false;
}

static int vcmp(const long a[3], const long b[3])
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

const struct piston_rt *piston_resolve(const struct piston_rt *rts, size_t n,
                                       const char *language, const char *version)
{
    const struct piston_rt *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (named(&rts[i], language) && piston_range_ok(version, rts[i].v) &&
            (!best || vcmp(rts[i].v, best->v) > 0))
            best = &rts[i];
    return best;
}

/* ---- node-semver ranges ---- */

/* A partial version: [v|=]N[.N[.N]] where N may be x, X or *; n = parts given
 * (a wildcard ends it). Returns false when malformed. */
struct partial {
    long p[3];
    int n;
};

static bool parse_partial(const char *s, struct partial *out)
{
    memset(out, 0, sizeof *out);
    while (*s == 'v' || *s == '=' || *s == 'V')
        s++;
    bool wild = false;
    for (int i = 0; i < 3; i++) {
        if (*s == 'x' || *s == 'X' || *s == '*') {
            wild = true;
            s++;
        } else {
            long v = read_num(&s);
            if (v < 0)
                return false;
            if (!wild)
                out->p[i] = v, out->n = i + 1;
        }
        if (!*s)
            return true;
        if (*s != '.')
            return false;
        s++;
    }
    return false; /* a fourth part, or a prerelease/build we do not offer */
}

/* The first version above everything the partial names (exclusive). */
static void upper(const struct partial *q, long out[3])
{
    memcpy(out, q->p, sizeof q->p);
    if (q->n == 0)
        return;
    out[q->n - 1]++;
    for (int i = q->n; i < 3; i++)
        out[i] = 0;
}

/* One comparator: an operator and a partial version. */
static bool comparator_ok(const char *op, const struct partial *q, const long v[3])
{
    long hi[3];
    upper(q, hi);
    bool any = q->n == 0;
    int lo_c = vcmp(v, q->p), hi_c = vcmp(v, hi);
    if (!strcmp(op, ">"))
        return !any && hi_c >= 0;
    if (!strcmp(op, ">="))
        return lo_c >= 0;
    if (!strcmp(op, "<"))
        return !any && lo_c < 0;
    if (!strcmp(op, "<="))
        return any || hi_c < 0;
    if (!strcmp(op, "~")) {
        struct partial t = *q;
        t.n = q->n > 2 ? 2 : q->n;
        upper(&t, hi);
        return any || (lo_c >= 0 && vcmp(v, hi) < 0);
    }
    if (!strcmp(op, "^")) {
        struct partial t = *q;
        t.n = (q->n == 1 || q->p[0]) ? 1 : (q->n == 2 || q->p[1]) ? 2 : 3;
        upper(&t, hi);
        return any || (lo_c >= 0 && vcmp(v, hi) < 0);
    }
    return any || (lo_c >= 0 && hi_c < 0); /* "" or "=": an X-range */
}

/* A token like ">=3.8", "~3.10", "3.x"; false when malformed or unmatched. */
static bool token_ok(const char *tok, const long v[3], bool *valid)
{
    static const char *const ops[] = {">=", "<=", ">", "<", "~>", "~", "^", "=", ""};
    const char *op = "";
    size_t i = 0;
    while (strncmp(tok, ops[i], strlen(ops[i])))
        i++;
    op = ops[i];
    struct partial q;
    if (!parse_partial(tok + strlen(op), &q)) {
        *valid = false;
        return false;
    }
    return comparator_ok(!strcmp(op, "~>") ? "~" : op, &q, v);
}

/* One comparator set (space separated, "a - b" hyphen ranges), all must hold. */
static bool set_ok(char *set, const long v[3])
{
    char *tok[64];
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(set, " \t", &save); t && n < 64;
         t = strtok_r(NULL, " \t", &save)) {
        if (n && strspn(tok[n - 1], "<>=~^") == strlen(tok[n - 1])) { /* ">= 3.8" */
            char *glued = tok[n - 1];
            size_t ol = strlen(glued);
            memmove(t - ol, glued, ol); /* ops sit before t in the same buffer */
            tok[n - 1] = t - ol;
            continue;
        }
        tok[n++] = t;
    }
    bool valid = true, ok = true;
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && !strcmp(tok[i + 1], "-")) {
            struct partial a, b;
            if (!parse_partial(tok[i], &a) || !parse_partial(tok[i + 2], &b))
                return false;
            ok &= comparator_ok(">=", &a, v) &&
                  comparator_ok(b.n == 3 ? "<=" : "<=", &b, v);
            i += 2;
            continue;
        }
        ok &= token_ok(tok[i], v, &valid);
        if (!valid)
            return false;
    }
    return ok;
}

bool piston_range_ok(const char *range, const long v[3])
{
    char buf[256];
    if (strlen(range) >= sizeof buf)
        return false;
    snprintf(buf, sizeof buf, "%s", range);
    bool any_set = false;
    for (char *save = NULL, *set = strtok_r(buf, "|", &save); set;
         set = strtok_r(NULL, "|", &save)) {
        any_set = true;
        if (set_ok(set, v))
            return true;
    }
    return !any_set; /* "" is "*" */
}
