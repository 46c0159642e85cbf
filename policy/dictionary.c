// SPDX-License-Identifier: Apache-2.0
/* Annex B/C code lists: actions, constraint names, operators. */
#include <errno.h>
#include <string.h>

#include "policy/policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Indexed by enum action; the standard's spelling first. */
static const char *const action_names[] = {
	[ACTION_TRANSFORM] = "transform",	  [ACTION_ANONYMIZE] = "anonymize",
	[ACTION_DESENSITIZE] = "desensitize",	  [ACTION_ACCESS] = "access",
	[ACTION_READ] = "read",			  [ACTION_REPRODUCE] = "reproduce",
	[ACTION_STORAGE] = "storage",		  [ACTION_DOWNLOAD] = "download",
	[ACTION_PROCESS] = "process",		  [ACTION_JOINT_DEVELOP] = "jointDevelop",
	[ACTION_DISTRIBUTE] = "distribute",	  [ACTION_COMPUTE] = "compute",
	[ACTION_GRANT_USE] = "grantUse",	  [ACTION_POLICY_TRANSMIT] = "plicyTransmit",
	[ACTION_DELIVERY] = "delivery",		  [ACTION_SELL] = "sell",
	[ACTION_LOG_RECORD_SEND] = "logRecordSend", [ACTION_DELETE] = "delete",
	[ACTION_ALERT] = "alert",		  [ACTION_COMPENSATE] = "compensate",
	[ACTION_CUSTOM] = "custom",
};

static const char *const constraint_names[] = {
	[CN_TIME] = "time",
	[CN_TIME_WINDOW] = "timeWindow",
	[CN_REGION] = "region",
	[CN_NETWORK_ADDRESS] = "networkAddress",
	[CN_PHYSICAL_ADDRESS] = "physicalAddress",
	[CN_COUNT] = "count",
	[CN_FREQUENCY] = "frequency",
	[CN_DATA_SIZE] = "dataSize",
	[CN_DATE_RECORD] = "dateRecord",
	[CN_DATA_FIELD] = "dataField",
	[CN_VALUE_EXPRESSION] = "valueExpression",
	[CN_APPLICATION] = "application",
	[CN_ALGORITHM] = "algorithm",
	[CN_ML_MODELS] = "machineLearningModels",
	[CN_EXECUTION_ENV] = "executionEnv",
	[CN_ENCRYPT_MODE] = "encryptMode",
	[CN_DELIVERY_METHOD] = "deliveryMethod",
	[CN_PAY_AMOUNT] = "payAmount",
	[CN_EXPANSION] = "expansionItem",
};

static const char *const op_names[] = {
	[OP_EQ] = "eq",		  [OP_GT] = "gt",	    [OP_GTEQ] = "gteq",
	[OP_HAS_PART] = "hasPart", [OP_IS_A] = "isA",	    [OP_IS_ALL_OF] = "isAllOf",
	[OP_IS_ANY_OF] = "isAnyOf", [OP_IS_NONE_OF] = "isNoneOf", [OP_IS_PART_OF] = "isPartOf",
	[OP_LT] = "lt",		  [OP_LTEQ] = "lteq",	    [OP_NEQ] = "neq",
};

static const char *name_at(const char *const *names, size_t n, int i)
{
	return i > 0 && (size_t)i < n ? names[i] : NULL;
}

static int index_of(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 1; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -ENOENT;
}

const char *action__name(enum action a)
{
	return name_at(action_names, ARRAY_SIZE(action_names), a);
}

const char *constraint_name__str(enum constraint_name c)
{
	return name_at(constraint_names, ARRAY_SIZE(constraint_names), c);
}

const char *op__name(enum op o)
{
	return name_at(op_names, ARRAY_SIZE(op_names), o);
}

int action__parse(const char *s, enum action *ret)
{
	int i;

	/* The standard spells it "plicyTransmit"; accept the corrected spelling too. */
	if (strcmp(s, "policyTransmit") == 0)
		s = "plicyTransmit";
	/* "custom" is our label, not a dictionary key; "export" (Annex D) is a custom action. */
	if (strcmp(s, "export") == 0) {
		*ret = ACTION_CUSTOM;
		return 0;
	}
	i = index_of(action_names, ACTION_CUSTOM, s);
	if (i < 0)
		return i;
	*ret = (enum action)i;
	return 0;
}

int constraint_name__parse(const char *s, enum constraint_name *ret)
{
	int i;

	/* The standard spells it "dateRecord"; accept "dataRecord" too. */
	if (strcmp(s, "dataRecord") == 0)
		s = "dateRecord";
	i = index_of(constraint_names, ARRAY_SIZE(constraint_names), s);
	if (i < 0)
		return i;
	*ret = (enum constraint_name)i;
	return 0;
}

int op__parse(const char *s, enum op *ret)
{
	int i;

	if (s[0] >= '0' && s[0] <= '1' && s[1] >= '0' && s[1] <= '9' && s[2] == '\0') {
		i = (s[0] - '0') * 10 + (s[1] - '0');
		if (i < OP_EQ || i > OP_NEQ)
			return -ENOENT;
		*ret = (enum op)i;
		return 0;
	}
	i = index_of(op_names, ARRAY_SIZE(op_names), s);
	if (i < 0)
		return i;
	*ret = (enum op)i;
	return 0;
}
