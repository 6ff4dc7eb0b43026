#pragma once

// What the GUI does with the station outside a run, as plain functions the background worker
// runs on its own thread: log in, list orders, create and close an order, export an order's
// audit log, look for things that need attention. They apply the same checks, records and
// audit entries as `keyline order` and `keyline audit export` (station/order_commands.cpp,
// station/audit_commands.cpp), with the signed-in operator instead of --operator.

#include "db/operator_repository.h"
#include "station/order_report.h"
#include "station/station_context.h"

namespace keyline::ui {

struct NewOrderForm {
    QString id; // empty: O<date>-<time>
    QString customerId;
    bool production = false;
    int quantity = 0;
    QString packagePath;
    QString keystorePath;
};

struct AuditExportResult {
    QString recordsPath;
    QString signaturePath;
    qint64 records = 0;
};

struct Attention {
    QString hsmProblem; // empty: the HSM opened
    int pendingRegistrations = 0;
    QString backendProblem; // the last delivery error of a pending registration, if any
};

Result<db::OperatorAccount> logIn(db::Database& db, const QString& name, const QString& pin);

// Open orders with their counts, oldest first.
Result<std::vector<station::OrderSummary>> openOrders(db::Database& db);
Result<station::OrderSummary> orderSummary(db::Database& db, const QString& orderId);

// Supervisor or engineer only (Refused otherwise). Opens the HSM: not while a run holds it.
Result<db::Order> createOrder(const station::StationContext& context, db::Database& db,
                              const db::OperatorAccount& who, const NewOrderForm& form);
Result<db::Order> closeOrder(const station::StationContext& context, db::Database& db,
                             const db::OperatorAccount& who, const QString& orderId);

// Supervisor or engineer only. Writes <dir>/audit-<order>-<UTC time>.jsonl and its .p7s.
Result<AuditExportResult> exportOrderAudit(const station::StationContext& context, db::Database& db,
                                           const db::OperatorAccount& who, const QString& orderId,
                                           const QString& dir);

// Opens the HSM (not while a run holds it) and reads the registration outbox.
Attention checkAttention(const station::StationContext& context, db::Database& db);

// Where exports go unless the supervisor picks a folder: <data_dir>/audit-exports.
QString defaultAuditDir(const station::StationContext& context);

} // namespace keyline::ui
