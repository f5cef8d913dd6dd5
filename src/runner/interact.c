/* Talking to a running job: stdin as it is typed, end of input, a kill, and
 * output backpressure. What arrives before the run stage starts (during the
 * queue wait or the compile) is kept and applied when it does. */
#include <signal.h>
#include <stdio.h>
#include <uv.h>

#include "runner/job_internal.h"

/* Stdin a job keeps before its run starts, like the sandbox's own bound. */
#define EARLY_STDIN_MAX (1u << 20)

int job_stdin_write(struct job *j, const void *data, size_t len)
{
    if (!j->interactive || j->stdin_closed || j->finished)
        return -1;
    if (j->cur)
        return sbx_run_stdin_write(j->cur, data, len);
    if (j->run_started)
        return -1; /* the run is over */
    if (j->early_in.len + len > EARLY_STDIN_MAX)
        return -2;
    sb_buf_append(&j->early_in, data, len);
    return j->early_in.oom ? -2 : 0;
}

void job_stdin_close(struct job *j)
{
    if (!j->interactive || j->stdin_closed)
        return;
    j->stdin_closed = true;
    if (j->cur)
        sbx_run_stdin_close(j->cur);
}

void job_output_pause(struct job *j, bool pause)
{
    j->paused = pause;
    if (!j->cur)
        return;
    if (pause)
        sbx_run_output_pause(j->cur);
    else
        sbx_run_output_resume(j->cur);
}

/* The result of a job killed before its program started. */
void job_finish_killed(struct job *j)
{
    struct stage_result *st = &j->res.run;
    st->status = SB_ST_RUNTIME_ERROR;
    st->signal = SIGKILL;
    snprintf(st->message, sizeof st->message, "killed on request");
    j->res.ran = true;
    j->res.status = SB_ST_RUNTIME_ERROR;
    job_finish(j);
}

static void on_killed(uv_timer_t *t)
{
    job_finish_killed(t->data);
}

void job_kill(struct job *j)
{
    if (j->kill_requested || j->cancelled || j->finished)
        return;
    j->kill_requested = true;
    if (j->cur) {
        sbx_run_kill(j->cur);
        return;
    }
    if (!j->flight)
        return; /* not started yet: on_start sees the request */
    /* Waiting for a shared compile: leave it, and report from the loop. */
    compile_leave(j);
    job_later(j, on_killed);
}

void job_signal(struct job *j, int sig)
{
    if (sig == SIGKILL)
        job_kill(j);
    else if (j->cur && !j->kill_requested && !j->cancelled && !j->finished)
        sbx_run_signal(j->cur, sig);
}

/* run_next's side: the spec's stdin, and what to apply once it runs. */
void job_interactive_spec(struct job *j, struct sbx_run_spec *spec)
{
    if (!j->interactive)
        return;
    spec->interactive = true;
    spec->stdin_data = j->early_in.len ? j->early_in.data : NULL;
    spec->stdin_len = j->early_in.len;
}

void job_interactive_started(struct job *j)
{
    j->run_started = true;
    sb_buf_free(&j->early_in);
    if (!j->cur)
        return;
    if (j->stdin_closed)
        sbx_run_stdin_close(j->cur);
    if (j->paused)
        sbx_run_output_pause(j->cur);
}
