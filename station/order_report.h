#pragma once

// What `keyline order list|show` print: an order's counts and its devices, as text for people
// and as stable JSON (docs/operator-guide.md).

#include "db/device_repository.h"
#include "db/order_repository.h"
#include "station/cli.h"

#include <vector>

namespace keyline::station {

struct OrderCounts {
    int provisioned = 0;
    int inProgress = 0; // allocated or under way
    int failed = 0;     // failed, waiting to be re-plugged
    int scrapped = 0;
    int certificates = 0;
    int remaining(const db::Order& o) const {
        return std::max(0, o.quantity - provisioned - scrapped - failedWithCertificate);
    }
    int failedWithCertificate = 0; // failed devices that hold a certificate count as scrap
};

struct OrderSummary {
    db::Order order;
    OrderCounts counts;
};

struct OrderDetail {
    OrderSummary summary;
    std::vector<db::Device> devices;
};

Result<std::vector<OrderSummary>> listOrders(db::Database& db);
Result<OrderDetail> showOrder(db::Database& db, const QString& orderId);

void printOrderList(Cli& cli, const std::vector<OrderSummary>& orders, bool json);
void printOrderDetail(Cli& cli, const OrderDetail& detail, bool json);

} // namespace keyline::station
