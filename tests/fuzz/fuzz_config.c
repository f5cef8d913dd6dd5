/* Fuzz target `config`: the YAML config file (config_load over
 * config_defaults, then config_free). The input is written to a memfd and
 * loaded by its /proc/self/fd path, as a file on disk would be. A config
 * that loads must be one config_validate accepts. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_set_level(LOG_ERROR);
    fd = memfd_create("soulbox-fuzz-config", MFD_CLOEXEC);
    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    struct sb_config c;
    struct sb_error err;
    memset(&err, 0, sizeof err);
    if (config_defaults(&c) < 0)
        abort();
    if (config_load(path, &c, &err) == 0) {
        struct sb_error err2;
        if (config_validate(&c, &err2) < 0 || !c.path)
            abort();
        for (size_t i = 0; i < c.n_pools; i++)
            fuzz_touch(c.pools[i].language);
        for (size_t i = 0; i < c.server.n_keys; i++)
            if (strlen(c.server.keys[i].sha256) != 64 || !fuzz_touch(c.server.keys[i].id))
                abort();
    } else if (!err.msg[0]) {
        abort();
    }
    config_free(&c);
    return 0;
}
