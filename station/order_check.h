#pragma once

// What `keyline order create` checks before an order exists, and what `keyline run` loads:
// the order's keystore and package belong to its customer and environment, are signed by the
// right keys, and development and production material never mix (DESIGN.md §1).

#include "db/order_repository.h"
#include "provisioning/order_plan.h"
#include "station/station_context.h"

namespace keyline::station {

struct OrderMaterial {
    QString customerId;
    firmware::Environment environment = firmware::Environment::Development;
    QByteArray keystore;
    QByteArray package;
};

// Refused (exit 1) naming the rule a mix breaks; BadInput (exit 2) for a keystore or package
// that does not verify. `hsm` supplies the vendor keystore key, the development keys and the
// OS tag check (the image key).
Result<void> checkOrderMaterial(const StationContext& context, hsm::Hsm& hsm,
                                const OrderMaterial& material);

// The order's own copies of its keystore and package, hashes checked against the order record,
// as a plan for a run.
Result<provisioning::OrderPlan> loadOrderPlan(const StationContext& context,
                                              const db::Order& order);

QString orderKeystorePath(const StationContext& context, const QString& orderId);
QString orderPackagePath(const StationContext& context, const QString& orderId);

} // namespace keyline::station
