/* Releasing an app's AI settings (app_config.h). */
#include "config.h"

#include "app_config.h"

#include <stdlib.h>
#include <string.h>

void ai_config_free(struct ai_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->default_model);
	for (i = 0; i < c->n_allowed; i++)
		free(c->allowed_models[i]);
	free(c->allowed_models);
	free(c->byok_sealed);
	memset(c, 0, sizeof *c);
}
