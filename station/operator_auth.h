#pragma once

// Who is doing something at the station (DESIGN.md §4: operators authenticate; roles decide):
// the operator named with --operator, authenticated by PIN ($KEYLINE_OPERATOR_PIN or a prompt
// on the terminal), or the service account of [station] service_account for headless runs.

#include "db/operator_repository.h"
#include "station/station_context.h"

namespace keyline::station {

// The authenticated account. InvalidArgument when nobody is named and no service account is
// configured; Refused (exit 1) for an unknown or inactive name or a wrong PIN.
Result<db::OperatorAccount> authenticateOperator(const StationContext& context, db::Database& db,
                                                 const QString& operatorName);

// Refused naming the roles that may, when `account` has none of them.
Result<void> requireRole(const db::OperatorAccount& account, std::initializer_list<db::Role> roles,
                         const QString& action);

// The operator PIN from $KEYLINE_OPERATOR_PIN, else a terminal prompt.
Result<QString> operatorPin(const QString& name);

} // namespace keyline::station
