/* Shared set-up of the fuzz targets: the built-in config and the languages
 * embedded in the binary, loaded once per process (as the server does at
 * startup), and logging kept quiet. */
#ifndef SB_FUZZ_COMMON_H
#define SB_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "config/config.h"
#include "runner/lang.h"

static struct sb_config fuzz_cfg;
static struct lang_registry fuzz_langs;

static inline void fuzz_setup_config_and_languages(void)
{
    struct sb_error err = {0};
    log_set_level(LOG_ERROR);
    if (config_defaults(&fuzz_cfg) < 0) {
        fprintf(stderr, "fuzz: config_defaults failed\n");
        abort();
    }
    if (lang_registry_load(NULL, &fuzz_langs, &err) < 0) {
        fprintf(stderr, "fuzz: embedded languages: %s\n", err.msg);
        abort();
    }
}

/* The initialiser of a target that needs only the config and the languages. */
#define FUZZ_INIT_CONFIG_AND_LANGUAGES                                          \
    int LLVMFuzzerInitialize(int *argc, char ***argv);                          \
    int LLVMFuzzerInitialize(int *argc, char ***argv)                           \
    {                                                                           \
        (void)argc;                                                             \
        (void)argv;                                                             \
        fuzz_setup_config_and_languages();                                      \
        return 0;                                                               \
    }

/* Reads every byte of a string the code under test produced, so a missing
 * terminator or a dangling pointer shows up in ASan right here. */
static inline size_t fuzz_touch(const char *s)
{
    size_t n = 0;
    if (s)
        for (; s[n]; n++)
            ;
    return n;
}

static inline void fuzz_touch_bytes(const void *p, size_t n)
{
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= ((const unsigned char *)p)[i];
    (void)sink;
}

#endif
