/* Files handed back by a run (sbx_run_collect): their release, apart from run.c so results can free them alone. */
#include <stdlib.h>

#include "sandbox/run.h"

void sbx_collected_free(struct sbx_collected *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].data);
    }
    free(v);
}
