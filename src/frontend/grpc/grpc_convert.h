/* soulbox.v1 messages <-> the JSON API's objects, so gRPC requests go through
 * exactly the same validation and results carry exactly the same values. */
#ifndef SB_FRONTEND_GRPC_CONVERT_H
#define SB_FRONTEND_GRPC_CONVERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "runner/result.h"
#include "soulbox/v1/soulbox.pb-c.h"

/* Unpack requests with this allocator (and free them with it): it keeps the
 * real length of string fields, NUL characters included. */
extern ProtobufCAllocator pb_sized_allocator;

/* The JSON request body equivalent to r (files as base64, limits left out
 * when 0, expected_output and network only when set). NULL with err when a
 * string field is not UTF-8 (proto3 requires it) or memory runs out. */
json_t *pb_request_to_json(const Soulbox__V1__ExecuteRequest *r, struct sb_error *err);

/* The JSON API's "network" object {"enabled", "allow"} from a soulbox.v1.Network
 * or soulbox.v1.SandboxNetwork message's fields, for request_network() to judge
 * ("allow" left out when empty). NULL with err when an entry is not UTF-8 or
 * memory runs out. */
json_t *pb_network_to_json(bool enabled, size_t n_allow, char *const *allow,
                          struct sb_error *err);

/* The result message for a typed result (the same fields and text as the
 * JSON API's); free with soulbox__v1__execute_result__free_unpacked(r, NULL).
 * NULL when memory runs out. */
Soulbox__V1__ExecuteResult *pb_result_from_result(const struct job_result *res, const char *id);

/* ListLanguages from GET /api/languages' object; free with
 * soulbox__v1__list_languages_response__free_unpacked(r, NULL). */
Soulbox__V1__ListLanguagesResponse *pb_languages_from_json(const json_t *langs);
/* cluster_status() (cluster/cluster.h) as a Cluster message. */
Soulbox__V1__Cluster *pb_cluster_from_json(const json_t *cluster);

#endif
