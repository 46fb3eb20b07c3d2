/* The one answer to a store failure (see store_failure.h). */
#include "config.h"

#include "store_failure.h"

#include "log.h"
#include "metrics.h"

void answer_store_failure(struct response *resp, aigw_rc rc, const char *what, const char *app_id,
                          const char *err, const char *message_500)
{
	log_warn("%s for app %s failed (%s): %s", what, app_id, aigw_rc_name(rc), err);
	if (rc == AIGW_EDB || rc == AIGW_ERETRY) {
		metrics_db_error();
		response_error(resp, 503, NULL, NULL, "database unavailable");
	} else if (rc == AIGW_ENOTFOUND)
		response_error(resp, 404, NULL, NULL, "unknown app");
	else
		response_error(resp, 500, NULL, NULL, "%s", message_500);
}
