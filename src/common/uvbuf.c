/* The read buffer of every libuv stream. */
#include "common/uvbuf.h"

void sb_uv_alloc_scratch(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)h;
    (void)hint;
    static __thread char chunk[65536];
    buf->base = chunk;
    buf->len = sizeof chunk;
}
