/* The read buffer of every libuv stream: one 64 KiB scratch chunk per thread. */
#ifndef SB_COMMON_UVBUF_H
#define SB_COMMON_UVBUF_H

#include <uv.h>

/* A uv_alloc_cb handing out the calling thread's scratch chunk. Safe for any
 * number of streams: libuv calls the read callback, which must consume or
 * copy the bytes, before it asks for a buffer again. */
void sb_uv_alloc_scratch(uv_handle_t *h, size_t hint, uv_buf_t *buf);

#endif
