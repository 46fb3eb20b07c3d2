/* Request dispatch: route, CORS preflight, authentication, role and body
 * checks, then the endpoint's handler. The FastCGI layer calls this once per
 * request; unit tests call it with a memory sink. */
#ifndef AIGW_DISPATCH_H
#define AIGW_DISPATCH_H

#include "request.h"
#include "response.h"

struct thread_ctx;

void dispatch(struct thread_ctx *ctx, struct request *req, struct response *resp);

#endif
