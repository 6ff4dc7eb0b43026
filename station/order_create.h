#pragma once

// Creating orders, one from `keyline order create` or many from `keyline order import`: the
// same checks (station/order_check.h), the same pinned copies and the same audit entry for
// each, all or nothing.

#include "db/operator_repository.h"
#include "station/cli.h"
#include "station/config.h"
#include "station/order_file.h"
#include "station/station_context.h"

#include <memory>

namespace keyline::station {

// The station as a supervisor or engineer sees it: configuration, database and who they are.
struct AdminSession {
    StationConfig config;
    std::unique_ptr<StationContext> context;
    std::unique_ptr<db::Database> db;
    db::OperatorAccount who;
};

// Refused (exit 1) unless `operatorName` (or the service account) is a supervisor or engineer.
Result<AdminSession> openAdminSession(Cli& cli, const QString& operatorName, const QString& action);

struct OrderSource {
    QString orderFile;       // empty: `order create`'s options
    QString orderFileSha256; // recorded in each order.created entry of an import
    bool dryRun = false;     // check everything, create nothing
};

// Checks every order (the ID is free, the files are readable and belong to the order's
// customer and environment), then creates them in one transaction with an order.created audit
// entry each, by `operatorName` (a supervisor or engineer). When one order fails nothing is
// created and the error names it. Returns the exit code.
int createOrders(Cli& cli, const QList<OrderSpec>& orders, const QString& operatorName,
                 const OrderSource& source);

} // namespace keyline::station
