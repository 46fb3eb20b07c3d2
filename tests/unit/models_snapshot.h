/* For the live tests that replace the models table: take a copy of it (and
 * of the list's own fields, models_list_meta) first and put it back at the
 * end, so running them against a stack's database (tests/run points
 * AIGW_TEST_CONFIG at one) leaves its models as they were.
 * A named lock held in between keeps two such tests (make -j check) from
 * replacing the table under each other. Included by one test file each. */
#ifndef AIGW_TEST_MODELS_SNAPSHOT_H
#define AIGW_TEST_MODELS_SNAPSHOT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "conffile.h"
#include "db.h"
#include "models.h"
#include "stmt.h"

static const char SQL_SNAPSHOT_CLEAR[] = "DELETE FROM models";
static const char SQL_SNAPSHOT_CLEAR_FIELDS[] = "DELETE FROM models_list_meta";
static const char SQL_SNAPSHOT_LOCK[] = "SELECT GET_LOCK('aigw_test_models', 300)";

/* The connection holding the lock until the restore. */
static struct db *snapshot_lock_db;
/* Whether list fields were stored when the snapshot was taken. */
static bool snapshot_had_fields;

static int snapshot_add(const char *id, const char *record, size_t len, void *arg)
{
	cJSON *o = cJSON_ParseWithLength(record, len);

	(void)id;
	if (o)
		cJSON_AddItemToArray(arg, o);
	return 0;
}

/* Waits for the lock, then returns every stored record as a /models
 * document; NULL on error. Caller frees it with models_snapshot_restore. */
static cJSON *models_snapshot_take(struct db *db, const struct aigw_conf *conf)
{
	char err[AIGW_ERRLEN], *fields = NULL;
	long long got = 0;
	cJSON *doc, *data;
	aigw_rc rc;
	struct q q;

	snapshot_lock_db = db_new(conf);
	q_init(&q, snapshot_lock_db, SQL_SNAPSHOT_LOCK);
	q_out_int(&q, &got, NULL);
	if (q_one(&q, err) != AIGW_OK)
		got = -1;
	q_end(&q);
	if (got != 1) {
		fprintf(stderr, "models snapshot: no lock: %s\n", got < 0 ? err : "timeout");
		return NULL;
	}
	/* The list fields first, then "data": a document as the upstream sends. */
	rc = db_models_list_fields(db, &fields, err);
	snapshot_had_fields = rc == AIGW_OK;
	if (rc != AIGW_OK && rc != AIGW_ENOTFOUND) {
		fprintf(stderr, "models snapshot: %s\n", err);
		return NULL;
	}
	doc = fields ? cJSON_Parse(fields) : cJSON_CreateObject();
	free(fields);
	if (!cJSON_IsObject(doc)) {
		fprintf(stderr, "models snapshot: the stored list fields are not an object\n");
		cJSON_Delete(doc);
		return NULL;
	}
	data = cJSON_AddArrayToObject(doc, "data");
	if (db_model_list(db, NULL, 0, snapshot_add, data, err) != AIGW_OK) {
		fprintf(stderr, "models snapshot: %s\n", err);
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/* Puts the snapshot back (an empty one empties the table and the list
 * fields; list fields are also removed if there were none), frees it and
 * releases the lock (by closing its connection). */
static void models_snapshot_restore(struct db *db, cJSON *doc)
{
	struct models_replace_result res;
	char err[AIGW_ERRLEN], *text;
	aigw_rc rc;
	struct q q;

	if (!doc)
		goto out;
	if (cJSON_GetArraySize(cJSON_GetObjectItem(doc, "data")) == 0) {
		/* No models, no list to describe. */
		snapshot_had_fields = false;
		q_init(&q, db, SQL_SNAPSHOT_CLEAR);
		rc = q_exec(&q, err);
		q_end(&q);
	} else {
		text = cJSON_PrintUnformatted(doc);
		rc = text ? db_models_replace(db, text, strlen(text), &res, err) : AIGW_EINVAL;
		free(text);
	}
	if (rc == AIGW_OK && !snapshot_had_fields) {
		q_init(&q, db, SQL_SNAPSHOT_CLEAR_FIELDS);
		rc = q_exec(&q, err);
		q_end(&q);
	}
	if (rc != AIGW_OK)
		fprintf(stderr, "models snapshot: cannot restore the models table: %s\n", err);
	cJSON_Delete(doc);
out:
	db_free(snapshot_lock_db);
	snapshot_lock_db = NULL;
}

#endif
