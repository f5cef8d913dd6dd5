/* The web UI's pages and assets (src/frontend/ui) over REST: cached by version, gzipped when accepted. */
#include <stdio.h>
#include <string.h>

#include "frontend/rest/rest_internal.h"
#include "frontend/ui/ui.h"
#include "service/service.h"
#include "transport/http.h"

void rest_ui(struct rest_call *rc)
{
    const struct ui_asset *a = rc->rest->svc->cfg->server.ui ? ui_lookup(rc->req->path) : NULL;
    if (!a) {
        rest_reply_error(rc, SB_E_NOT_FOUND, "no such endpoint", NULL);
        return;
    }
    bool gz = ui_accepts_gzip(http_header(rc->req, "accept-encoding"));
    /* Assets asked for by this build's version never change: cached for a year.
     * Pages, and assets without the version, are revalidated each time. */
    char v[64] = "";
    bool versioned = !a->page && http_query_get(rc->req, "v", v, sizeof v) == 1 &&
                     !strcmp(v, ui_version());
    char etag[64];
    snprintf(etag, sizeof etag, "\"%s%s\"", ui_version(), gz ? "-gz" : "");
    char extra[1400];
    snprintf(extra, sizeof extra, "%sETag: %s\r\nVary: Accept-Encoding\r\nCache-Control: %s\r\n%s",
             ui_security_headers, etag,
             versioned ? "public, max-age=31536000, immutable" : "no-cache",
             gz ? "Content-Encoding: gzip\r\n" : "");
    const char *inm = http_header(rc->req, "if-none-match");
    if (inm && strstr(inm, etag)) {
        rest_log(rc, 304);
        http_respond(rc->c, 304, NULL, "", 0, extra);
        return;
    }
    rest_log(rc, 200);
    const unsigned char *from = gz ? a->gz : a->data, *to = gz ? a->gz_end : a->data_end;
    http_respond(rc->c, 200, a->content_type, (const char *)from, (size_t)(to - from), extra);
}
