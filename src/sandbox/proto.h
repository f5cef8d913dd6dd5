/* The host <-> agent protocol (version 2): framed messages over one channel, shared by both ends. */
#ifndef SB_SANDBOX_PROTO_H
#define SB_SANDBOX_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One sandbox, one channel, many processes over time. Every message is a
 * frame: a fixed header and up to AGENT_PAYLOAD_MAX payload bytes. On the
 * namespace backend the channel is a SOCK_SEQPACKET socketpair (one frame
 * per message, file descriptors ride along with SCM_RIGHTS); a stream
 * transport (a VM's vsock) carries the same frames back to back, the
 * header's `len` delimiting them. Both ends are the same build of SoulBox,
 * so integers are in the machine's byte order.
 *
 * `id` names the process (EXEC, GO, SIGNAL, RESIZE, STARTED, EXITED, ...)
 * or the file request (FILE) a frame belongs to; the host picks ids, the
 * agent echoes them. Variable payloads (EXEC, GO, FILE and its replies) are
 * tag-length-value records (see the codecs below and in plan.h); fixed ones
 * are the structs below.
 */

#define AGENT_PROTO_MAGIC   0x58425342u /* "BSBX" in memory (little-endian) */
#define AGENT_PROTO_VERSION 2u
/* The largest payload of any frame (an EXEC with its arguments and
 * environment); the host's end of the channel has room for it. */
#define AGENT_PAYLOAD_MAX   (1u << 20)
/* The largest payload the agent sends, and the size of file data chunks. */
#define AGENT_REPLY_MAX     (64u << 10)
#define AGENT_MAX_FDS       3

/* fds the agent receives at exec */
#define AGENT_FD_CONTROL 3
#define AGENT_FD_PLAN    4

enum agent_msg_type {
    /* agent -> host */
    A_READY = 1,      /* set up; payload: struct agent_ready */
    A_FAILED,         /* setup failed (err, text); the agent exits */
    A_STARTED,        /* id started: struct agent_started; a pty's master attached */
    A_EXEC_FAILED,    /* id could not start: err, text naming the step */
    A_EXITED,         /* id ended: struct agent_exited */
    A_WARM_READY,     /* id (a warm program) is waiting for GO */
    A_FILE,           /* reply to FILE id: err, records; AGENT_F_MORE: more follow */
    /* a microVM's guest agent (src/vm/guest.c), besides relaying the above */
    A_VM_UP = 20,     /* the guest booted: struct agent_vm_up; send H_VM_START */
    A_OUT,            /* output of process id: flags = 1 (stdout/pty) or 2; data */
    A_OUT_EOF,        /* that stream of process id ended (flags = 1 or 2) */
    A_STATS,          /* struct agent_vm_stats of the sandbox's cgroup */
    /* host -> agent */
    H_ATTACHED = 100, /* the agent is in the sandbox's cgroup: go on */
    H_EXEC,           /* start process id: plan_exec records; stdio fds attached */
    H_GO,             /* warm process id: its rlimits and input (plan_exec records) */
    H_SIGNAL,         /* struct agent_signal to process id's group */
    H_RESIZE,         /* struct agent_resize of process id's pty */
    H_FILE,           /* file request id: file records (op, path, data, ...) */
    H_KILL_ALL,       /* kill every process of the sandbox now */
    /* to a microVM's guest agent */
    H_VM_START = 120, /* struct agent_vm_start, then the plan: build the sandbox */
    H_STDIN,          /* input for process id (its stdin pipe or terminal) */
    H_STDIN_EOF,      /* close process id's stdin */
    H_LIMITS,         /* struct agent_vm_limits: the sandbox's new cgroup limits */
    H_STATS,          /* send A_STATS now */
    H_RESET_PEAK,     /* restart the cgroup's peak-memory counter */
};

/* Header flags. */
enum agent_frame_flags {
    AGENT_F_MORE = 1u << 0,   /* A_FILE: further frames of this reply follow */
    AGENT_F_FIRST = 1u << 1,  /* H_FILE write: the first chunk (create/truncate) */
    AGENT_F_LAST = 1u << 2,   /* H_FILE write: the last chunk (close, reply) */
    AGENT_F_VM_NOSTDIO = 1u << 8, /* H_EXEC to a guest agent: no stdio (a terminal) */
};

struct agent_hdr {
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t id;
    int32_t err;              /* errno for failures and replies, else 0 */
    uint32_t flags;
    uint32_t len;             /* payload bytes that follow */
};

struct agent_ready {
    uint32_t version;         /* AGENT_PROTO_VERSION of the agent */
    int32_t pid;              /* the agent's pid (1) */
};

struct agent_started {
    int32_t pid;              /* inside the sandbox */
    uint32_t has_pty;         /* the pty master is attached */
};

struct agent_exited {
    int32_t status;           /* wait(2) status */
    int32_t seccomp_nr;       /* call that got the process killed, or -1 */
    uint32_t seccomp_arch;
    uint32_t reserved;
    uint64_t wall_ns;         /* start (or GO) to exit, measured by the agent */
    uint64_t cpu_ns;          /* the process and the children it waited for */
    uint64_t maxrss_kb;       /* largest resident set among them */
    uint64_t agent_cpu_ns;    /* CPU the agent itself has used so far */
};

/*
 * A microVM: the channel is a virtio-serial port (a byte stream: frames
 * back to back), no descriptor crosses it. The guest agent (pid 1 of the
 * guest) builds the sandbox inside the guest exactly as the namespace
 * backend does on a host and relays the inner agent's frames; stdio
 * travels as A_OUT / H_STDIN frames and the cgroup's figures as A_STATS
 * (sent on H_STATS and before every A_EXITED).
 */
struct agent_vm_up {
    uint32_t version;         /* AGENT_PROTO_VERSION of the guest agent */
    uint32_t reserved;
    char kernel[64];          /* the guest kernel's release (uname -r) */
};

struct agent_vm_limits {
    uint64_t memory_bytes;
    uint32_t pids;
    uint32_t cpu_percent;
};

/* agent_vm_start.flags */
#define AGENT_VM_NET 1u       /* egress: the guest's eth0, shared by the sandbox */

struct agent_vm_start {
    struct agent_vm_limits limits;
    uint32_t uid;             /* the sandbox's uid (also in the plan) */
    uint32_t flags;           /* AGENT_VM_NET */
    int64_t realtime_ns;      /* the host's clock (a restored guest's is stale) */
    uint8_t seed[32];         /* entropy for the guest's pool */
};

struct agent_vm_stats {
    uint64_t cpu_ns;
    uint64_t memory_current;
    uint64_t memory_peak;
    uint64_t oom_kills;
};

struct agent_signal {
    int32_t sig;
};

struct agent_resize {
    uint16_t rows, cols;
};

/* ---- frames ---- */

/* Sends one frame (payload may be NULL when len is 0) with nfds descriptors.
 * Returns 0, or -errno (-EAGAIN on a non-blocking socket that is full). */
int proto_send(int sock, uint16_t type, uint32_t id, int32_t err, uint32_t flags,
               const void *payload, uint32_t len, const int *fds, int nfds);

/* Receives one frame into h and payload (capacity cap); fds[] (capacity
 * AGENT_MAX_FDS) gets attached descriptors and *nfds their count. Returns 1
 * on a frame, 0 on EOF, -errno on error: -EPROTO for a frame that is short,
 * larger than cap, of another magic or version, or carries too many fds
 * (any descriptors received are closed then). */
int proto_recv(int sock, struct agent_hdr *h, uint8_t *payload, size_t cap, int *fds,
               int *nfds);

/* Checks a header as received: magic, version, len within cap and equal to
 * the payload bytes that came with it. Pure (fuzzed). */
bool proto_hdr_ok(const struct agent_hdr *h, size_t payload_got, size_t cap);

/* ---- FILE records ---- */

enum agent_file_op {
    FOP_WRITE = 1,    /* path, mode; data in chunks (FIRST ... LAST) */
    FOP_READ,         /* path, max: replies carry data */
    FOP_LIST,         /* path: replies carry entries */
    FOP_STAT,         /* path: one entry */
    FOP_MOVE,         /* path -> path2 */
    FOP_REMOVE,       /* path (FOPF_RECURSIVE for a directory tree) */
    FOP_MKDIR,        /* path (FOPF_PARENTS: create missing parents, ok if it exists) */
};

enum agent_file_flags {
    FOPF_RECURSIVE = 1u << 0,
    FOPF_PARENTS = 1u << 1,
    FOPF_EXCL = 1u << 2,      /* write: fail if the file exists */
    FOPF_APPEND = 1u << 3,    /* write: append instead of truncating */
};

enum agent_entry_type { FENT_FILE = 1, FENT_DIR, FENT_SYMLINK, FENT_OTHER };

/* A file request as it travels (strings and data point into the frame). */
struct agent_file_req {
    uint32_t op;
    uint32_t flags;
    uint32_t mode;            /* write, mkdir: 0 = default */
    uint64_t max;             /* read: largest file accepted */
    const char *path;
    const char *path2;        /* move: destination */
    const uint8_t *data;      /* write chunk */
    uint64_t data_len;
};

/* One directory entry or stat result. */
struct agent_entry {
    const char *name;         /* LIST: name in the directory; STAT: the path */
    uint32_t type;            /* enum agent_entry_type */
    uint32_t mode;            /* permission bits */
    uint64_t size;
    int64_t mtime_ms;
    const char *target;       /* symlink: its text, else NULL */
};

/* Encode into buf (capacity cap). Returns the bytes written, or 0 if they do
 * not fit. */
size_t proto_file_req_encode(const struct agent_file_req *r, uint8_t *buf, size_t cap);
size_t proto_entry_encode(const struct agent_entry *e, uint8_t *buf, size_t cap);
/* A reply's data record, or its error text. */
size_t proto_data_encode(const void *data, size_t len, uint8_t *buf, size_t cap);
size_t proto_text_encode(const char *text, uint8_t *buf, size_t cap);

/* Decoders: strings point into buf (each NUL-terminated within its record).
 * Return 0, or -1 with a static reason in *why. Pure (fuzzed). */
int proto_file_req_decode(const uint8_t *buf, size_t len, struct agent_file_req *r,
                          const char **why);
/* Walks a reply payload: calls entry() per entry record, data() per data
 * record; *text gets an error text record if there is one. */
int proto_reply_decode(const uint8_t *buf, size_t len,
                       void (*entry)(void *arg, const struct agent_entry *e),
                       void (*data)(void *arg, const uint8_t *d, size_t n), void *arg,
                       const char **text, const char **why);

#endif
