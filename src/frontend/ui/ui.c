/* The web UI's embedded files, looked up by path. */
#include "frontend/ui/ui.h"

#include <string.h>
#include <strings.h>

#define BLOB(sym) extern const unsigned char sym[], sym##_end[]
BLOB(sb_ui_index_html);
BLOB(sb_ui_index_html_gz);
BLOB(sb_ui_app_js);
BLOB(sb_ui_app_js_gz);
BLOB(sb_ui_app_css);
BLOB(sb_ui_app_css_gz);
BLOB(sb_ui_version);

#define ASSET(ct, sym, is_page) \
    {ct, sym, sym##_end, sym##_gz, sym##_gz_end, is_page}

static const struct ui_asset index_html =
    ASSET("text/html; charset=utf-8", sb_ui_index_html, true);
static const struct ui_asset app_js = ASSET("text/javascript; charset=utf-8", sb_ui_app_js, false);
static const struct ui_asset app_css = ASSET("text/css; charset=utf-8", sb_ui_app_css, false);

/* Scripts and styles only from this origin (CodeMirror adds <style> elements,
 * hence 'unsafe-inline' for styles alone); images also as data: and blob: URLs
 * (a notebook's charts); connections to this origin, WebSocket included; no
 * framing, no plugins, forms post here only. */
const char ui_security_headers[] =
    "Content-Security-Policy: default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "X-Frame-Options: DENY\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cross-Origin-Opener-Policy: same-origin\r\n";

const struct ui_asset *ui_lookup(const char *path)
{
    if (!strcmp(path, "/") || !strcmp(path, "/ui/sessions") || !strcmp(path, "/ui/admin"))
        return &index_html;
    if (!strcmp(path, "/ui/assets/app.js"))
        return &app_js;
    if (!strcmp(path, "/ui/assets/app.css"))
        return &app_css;
    return NULL;
}

const char *ui_version(void)
{
    return (const char *)sb_ui_version;
}

bool ui_accepts_gzip(const char *ae)
{
    for (const char *p = ae; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        bool gzip = (n == 4 && !strncasecmp(p, "gzip", 4)) || (n == 1 && *p == '*');
        p += n;
        /* a q=0 (q=0.0, ...) parameter refuses it */
        bool refused = false;
        while (*p == ';') {
            p++;
            p += strspn(p, " \t");
            size_t m = strcspn(p, ",;");
            if (m >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                const char *v = p + 2;
                refused = v[0] == '0' && strspn(v + 1, ".0") == m - 3;
            }
            p += m;
        }
        if (gzip)
            return !refused;
    }
    return false;
}
