/* Judge0's information routes: statuses, about/version/isolate/license, config_info (SoulBox's effective values with Judge0's 39 keys), system_info, statistics, workers, authenticate/authorize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/judge0/judge0_internal.h"
#include "service/service.h"

void judge0_statuses(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    json_t *a = json_array();
    for (int id = 1; id <= J0_NSTATUS; id++)
        json_array_append_new(a, json_pack("{s:i,s:s}", "id", id, "description",
                                           j0_status_name(id)));
    j0_reply_json(rc, 200, a);
}

void judge0_about(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_json(rc, 200, json_pack("{s:s,s:s,s:s,s:s}", "version", J0_VERSION,
                                         "homepage", "https://github.com/soulbox",
                                         "source_code", "https://github.com/soulbox",
                                         "maintainer", "SoulBox (Judge0 CE 1.13.1 compatible API)"));
}

void judge0_version(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_text(rc, J0_VERSION);
}

void judge0_isolate(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_text(rc, "SoulBox sandbox: namespaces, cgroups v2, seccomp, read-only root, "
                          "no network\n");
}

void judge0_license(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_text(rc, "SoulBox serves the Judge0 CE 1.13.1 wire protocol; Judge0 is "
                          "licensed under the GNU General Public License v3.0.\n");
}

void judge0_config_info(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    const struct sb_config *c = rc->rest->svc->cfg;
    json_t *o = json_pack(
        "{s:b,s:b,s:b,s:[],s:b,s:b,s:b,s:I,s:f,s:b,s:I,s:f,s:f,s:f,s:f,s:f,s:f}",
        "maintenance_mode", 0, "enable_wait_result", 1, "enable_compiler_options", 1,
        "allowed_languages_for_compile_options", "enable_command_line_arguments", 1,
        "enable_submission_delete", 0, "enable_callbacks", 1, "callbacks_max_tries",
        (json_int_t)c->server.callback_attempts, "callbacks_timeout",
        (double)c->server.callback_timeout_ms / 1000, "enable_additional_files", 1,
        "max_queue_size", (json_int_t)c->server.max_queue, "cpu_time_limit", J0_CPU_TIME_LIMIT,
        "max_cpu_time_limit", J0_MAX_CPU_TIME_LIMIT, "cpu_extra_time", J0_CPU_EXTRA_TIME,
        "max_cpu_extra_time", J0_MAX_CPU_EXTRA_TIME, "wall_time_limit", J0_WALL_TIME_LIMIT,
        "max_wall_time_limit", J0_MAX_WALL_TIME_LIMIT);
    json_t *rest = json_pack(
        "{s:i,s:i,s:i,s:i,s:i,s:i,s:b,s:b,s:b,s:b,s:i,s:i,s:i,s:i,s:b,s:i,s:b,s:i,s:f,s:b,"
        "s:b,s:b}",
        "memory_limit", J0_MEMORY_LIMIT, "max_memory_limit", J0_MAX_MEMORY_LIMIT, "stack_limit",
        J0_STACK_LIMIT, "max_stack_limit", J0_MAX_STACK_LIMIT, "max_processes_and_or_threads",
        J0_MAX_PROCESSES, "max_max_processes_and_or_threads", J0_MAX_MAX_PROCESSES,
        "enable_per_process_and_thread_time_limit", 0,
        "allow_enable_per_process_and_thread_time_limit", 1,
        "enable_per_process_and_thread_memory_limit", 0,
        "allow_enable_per_process_and_thread_memory_limit", 1, "max_file_size",
        J0_MAX_FILE_SIZE, "max_max_file_size", J0_MAX_MAX_FILE_SIZE, "number_of_runs",
        J0_NUMBER_OF_RUNS, "max_number_of_runs", J0_MAX_NUMBER_OF_RUNS,
        "redirect_stderr_to_stdout", 0, "max_extract_size", J0_MAX_EXTRACT_KB,
        "enable_batched_submissions", 1, "max_submission_batch_size", J0_MAX_BATCH,
        "submission_cache_duration", 0.0, "use_docs_as_homepage", 0, "allow_enable_network", 0,
        "enable_network", 0);
    json_object_update(o, rest);
    json_decref(rest);
    j0_reply_json(rc, 200, o);
}

void judge0_system_info(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    char cpus[16], mem[32];
    snprintf(cpus, sizeof cpus, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
    snprintf(mem, sizeof mem, "%.1fG", (double)sysconf(_SC_PHYS_PAGES) *
             (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024 * 1024));
#if defined(__x86_64__)
    const char *arch = "x86_64";
#elif defined(__aarch64__)
    const char *arch = "aarch64";
#else
    const char *arch = "unknown";
#endif
    j0_reply_json(rc, 200, json_pack("{s:s,s:s,s:s,s:s}", "Architecture", arch, "CPU(s)", cpus,
                                     "Mem", mem, "Swap", "0B"));
}

void judge0_statistics(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_error(rc, 400, "statistics are not kept by SoulBox: see GET /metrics");
}

void judge0_workers(struct rest_call *rc)
{
    if (j0_enter(rc, false) < 0)
        return;
    const struct sb_config *c = rc->rest->svc->cfg;
    j0_reply_json(rc, 200, json_pack("[{s:s,s:i,s:I,s:I,s:i,s:i,s:i}]", "queue", J0_VERSION,
                                     "size", 0, "available",
                                     (json_int_t)c->server.max_concurrent, "idle",
                                     (json_int_t)c->server.max_concurrent, "working", 0,
                                     "paused", 0, "failed", 0));
}

void judge0_authenticate(struct rest_call *rc)
{
    if (j0_enter(rc, false) == 0)
        j0_reply_empty(rc, 200);
}

void judge0_authorize(struct rest_call *rc)
{
    if (j0_enter(rc, true) == 0)
        j0_reply_empty(rc, 200);
}
