/* Reading a serialized google.protobuf.FileDescriptorSet for gRPC server reflection, no protobuf library. */
#ifndef SB_FRONTEND_PBDESC_H
#define SB_FRONTEND_PBDESC_H

#include <stddef.h>
#include <stdint.h>

#define PBDESC_MAX_INPUT   (16u << 20) /* bytes of serialized descriptor set */
#define PBDESC_MAX_FILES   1024
#define PBDESC_MAX_DEPS    1024        /* dependencies of one file */
#define PBDESC_MAX_SYMBOLS 65536
#define PBDESC_MAX_NAME    1024        /* bytes of a file name, package or fully-qualified symbol */
#define PBDESC_MAX_DEPTH   32          /* levels of message nesting */

struct pbdesc_file {
    char *name;          /* FileDescriptorProto.name, e.g. "soulbox/v1/soulbox.proto"; never empty */
    char *package;       /* "" when the file has none */
    const uint8_t *data; /* the serialized FileDescriptorProto; points into the parsed buffer */
    size_t len;
    char **deps;         /* `dependency` names, NULL-terminated (never NULL itself) */
};

struct pbdesc_symbol {
    char *name;          /* fully qualified, no leading '.': "pkg.Outer.Inner", "pkg.Svc.Method" */
    size_t file;         /* index into files */
};

struct pbdesc {
    struct pbdesc_file *files;
    size_t nfiles;
    struct pbdesc_symbol *syms; /* messages, enums, services and methods, sorted by name */
    size_t nsyms;
    const char **services;      /* fully-qualified service names in input order; point into syms */
    size_t nservices;
};

/* Parses buf (untrusted) into *out, which keeps pointers into buf: buf must
 * outlive it. Malformed wire data, groups, over-deep nesting, names that are
 * empty, overlong or not printable UTF-8, a symbol or file name defined twice,
 * or any limit above exceeded fail. Returns 0, or -1 with a static reason in
 * *why and *out empty. */
int pbdesc_parse(const uint8_t *buf, size_t len, struct pbdesc *out, const char **why);
/* Frees what pbdesc_parse allocated and empties *d; safe on an empty one. */
void pbdesc_free(struct pbdesc *d);

/* The file called name, or NULL. */
const struct pbdesc_file *pbdesc_file_by_name(const struct pbdesc *d, const char *name);
/* The file defining a fully-qualified message, enum, service or method
 * (a leading '.' is accepted), or NULL. */
const struct pbdesc_file *pbdesc_file_by_symbol(const struct pbdesc *d, const char *symbol);
/* Sets *names to every fully-qualified service name, in input order, and
 * returns how many; the array belongs to d. */
size_t pbdesc_services(const struct pbdesc *d, const char ***names);

#endif
