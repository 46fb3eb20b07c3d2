/* GET /v1/health: liveness plus database reachability. Public and cheap, so
 * load balancers can poll it; 503 while the database is down (fail closed). */
#include "config.h"

#include "endpoints.h"

#include "context.h"
#include "db.h"
#include "error.h"
#include "log.h"

void handle_health(struct thread_ctx *ctx, struct request *req, struct response *resp)
{
	char err[AIGW_ERRLEN];
	cJSON *o = cJSON_CreateObject();
	aigw_rc rc;

	(void)req;
	rc = db_ping(ctx->db, err);
	if (rc == AIGW_OK) {
		cJSON_AddStringToObject(o, "status", "ok");
		cJSON_AddStringToObject(o, "database", "ok");
		response_json(resp, 200, o);
	} else {
		cJSON *e = cJSON_CreateObject();

		log_warn("health: database unreachable: %s", err);
		cJSON_AddStringToObject(o, "status", "unavailable");
		cJSON_AddStringToObject(o, "database", "down");
		cJSON_AddStringToObject(e, "message", "database unavailable");
		cJSON_AddStringToObject(e, "type", "service_unavailable");
		cJSON_AddNullToObject(e, "param");
		cJSON_AddNumberToObject(e, "code", 503);
		cJSON_AddItemToObject(o, "error", e);
		response_json(resp, 503, o);
	}
	cJSON_Delete(o);
}
