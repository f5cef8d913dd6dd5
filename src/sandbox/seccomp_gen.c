/* Build tool: writes the default seccomp programs (notify and kill variants) for embedding. */
#include <stdio.h>
#include <stdlib.h>

#include "sandbox/seccomp.h"

static int emit(const char *path, bool notify)
{
    struct seccomp_prog p;
    struct sb_error err;
    if (seccomp_compile_mode(NULL, 0, notify, &p, &err) < 0) {
        fprintf(stderr, "seccomp-gen: %s\n", err.msg);
        return -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p.bpf, 1, p.len, f) != p.len || fclose(f) != 0) {
        perror(path);
        seccomp_prog_free(&p);
        return -1;
    }
    seccomp_prog_free(&p);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: seccomp-gen NOTIFY.bpf KILL.bpf\n");
        return 2;
    }
    return emit(argv[1], true) < 0 || emit(argv[2], false) < 0;
}
