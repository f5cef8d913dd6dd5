/* The web UI (ui/): its pages and assets, embedded at build time, served on the HTTP port. */
#ifndef SB_FRONTEND_UI_UI_H
#define SB_FRONTEND_UI_UI_H

#include <stdbool.h>
#include <stddef.h>

/* One embedded file: its bytes [data, data_end), and the same gzipped. */
struct ui_asset {
    const char *content_type;
    const unsigned char *data, *data_end, *gz, *gz_end;
    bool page;                  /* a page (index.html), not an asset */
};

/* The asset a GET of path serves: the app's pages (/, /ui/sessions,
 * /ui/admin) are index.html; /ui/assets/app.js and app.css. NULL for other paths. */
const struct ui_asset *ui_lookup(const char *path);
/* The build's version (the hash in the assets' URLs). */
const char *ui_version(void);
/* Whether an Accept-Encoding header value accepts gzip (q=0 refuses it). */
bool ui_accepts_gzip(const char *accept_encoding);
/* The security headers every UI answer carries (CSP and the rest), CRLF-ended lines. */
extern const char ui_security_headers[];

#endif
