#include "decisions.h"

#include "util/log.h"

json_t *decision_json(const struct decision *d)
{
	json_t *o = json_object();
	char a[24], b[24], c[24];

	json_object_set_new(o, "t", json_integer((json_int_t)d->t_ms));
	switch (d->kind) {
	case DEC_ROLE:
		json_object_set_new(o, "event", json_string("role"));
		json_object_set_new(o, "endpoint", json_string(d->endpoint));
		json_object_set_new(o, "role", json_string(lm_role_name(d->role)));
		json_object_set_new(o, "uid", json_string(d->uid));
		break;
	case DEC_TRANSITION:
		json_object_set_new(o, "event", json_string("transition"));
		json_object_set_new(o, "endpoint", json_string(d->endpoint));
		json_object_set_new(o, "from", json_string(lm_state_name(d->from, a)));
		json_object_set_new(o, "input", json_string(lm_input_name(d->input, b)));
		json_object_set_new(o, "to", json_string(lm_state_name(d->to, c)));
		json_object_set_new(o, "uid", json_string(d->uid));
		break;
	case DEC_ROUTE:
		json_object_set_new(o, "event", json_string("route"));
		json_object_set_new(o, "endpoint", json_string(d->endpoint));
		json_object_set_new(o, "dst", json_string(d->dst));
		json_object_set_new(o, "interface", json_string(d->ifname));
		json_object_set_new(o, "metric", d->metric ? json_integer(d->metric) : json_null());
		break;
	case DEC_CONFIG:
		json_object_set_new(o, "event", json_string("config"));
		json_object_set_new(o, "warning", json_string(d->message ? d->message : ""));
		break;
	}
	return o;
}

void decision_log(const struct decision *d)
{

	switch (d->kind) {
	case DEC_ROLE:
		hlog(HLOG_INFO, "LiveMigration role changed", "endpoint=%s role=%s migrationUid=%s",
		     d->endpoint, lm_role_name(d->role), d->uid);
		break;
	case DEC_TRANSITION: {
		/* Seed 000's line: the form operators grep for. */
		struct lm_transition t = {.endpoint_key = d->endpoint,
		                          .uid = d->uid,
		                          .from = d->from,
		                          .to = d->to,
		                          .input = d->input};
		char fields[768];
		lm_transition_fields(&t, fields, sizeof(fields));
		hlog(HLOG_INFO, "Live migration state transition", "%s", fields);
		break;
	}
	case DEC_ROUTE:
		if (d->metric)
			hlog(HLOG_INFO, "Workload route",
			     "endpoint=%s dst=%s interface=%s metric=%u", d->endpoint, d->dst,
			     d->ifname, d->metric);
		else
			hlog(HLOG_INFO, "Workload route withdrawn",
			     "endpoint=%s dst=%s interface=%s", d->endpoint, d->dst, d->ifname);
		break;
	case DEC_CONFIG:
		hlog(HLOG_WARN, "Route priority configuration", "warning=%s", hlog_q(d->message));
		break;
	}
}
