#include "station/order_report.h"

#include "db/certificate_ledger.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <set>

namespace keyline::station {

namespace {

Result<OrderSummary> summarise(db::Database& db, const db::Order& order,
                               std::vector<db::Device>* devicesOut) {
    OrderSummary s{order, {}};
    KL_TRY_ASSIGN(std::vector<db::Device> devices, db::DeviceRepository(db).listForOrder(order.id));
    KL_TRY_ASSIGN(const std::vector<db::IssuedCertificate> certs,
                  db::CertificateLedger(db).listForOrder(order.id));
    std::set<QString> certified;
    for (const auto& c : certs)
        certified.insert(c.deviceId);
    s.counts.certificates = int(certs.size());
    for (const db::Device& d : devices) {
        if (d.scrapped)
            ++s.counts.scrapped;
        else if (d.state == db::DeviceState::Provisioned)
            ++s.counts.provisioned;
        else if (d.state == db::DeviceState::Failed) {
            ++s.counts.failed;
            if (certified.count(d.id))
                ++s.counts.failedWithCertificate;
        } else
            ++s.counts.inProgress;
    }
    if (devicesOut)
        *devicesOut = std::move(devices);
    return s;
}

QJsonObject summaryJson(const OrderSummary& s) {
    const db::Order& o = s.order;
    return QJsonObject{
        {QStringLiteral("id"), o.id},
        {QStringLiteral("customerId"), o.customerId},
        {QStringLiteral("environment"), db::environmentName(o.environment)},
        {QStringLiteral("quantity"), o.quantity},
        {QStringLiteral("state"),
         o.state == db::OrderState::Open ? QStringLiteral("open") : QStringLiteral("closed")},
        {QStringLiteral("createdBy"), o.createdBy},
        {QStringLiteral("createdAt"), o.createdAt},
        {QStringLiteral("packageSha256"), o.packageSha256},
        {QStringLiteral("keystoreSha256"), o.keystoreSha256},
        {QStringLiteral("provisioned"), s.counts.provisioned},
        {QStringLiteral("inProgress"), s.counts.inProgress},
        {QStringLiteral("failed"), s.counts.failed},
        {QStringLiteral("scrapped"), s.counts.scrapped},
        {QStringLiteral("certificates"), s.counts.certificates},
        {QStringLiteral("remaining"), s.counts.remaining(o)},
    };
}

} // namespace

Result<std::vector<OrderSummary>> listOrders(db::Database& db) {
    KL_TRY_ASSIGN(const std::vector<db::Order> orders, db::OrderRepository(db).list());
    std::vector<OrderSummary> out;
    for (const db::Order& o : orders) {
        KL_TRY_ASSIGN(OrderSummary s, summarise(db, o, nullptr));
        out.push_back(std::move(s));
    }
    return out;
}

Result<OrderDetail> showOrder(db::Database& db, const QString& orderId) {
    KL_TRY_ASSIGN(const db::Order order, db::OrderRepository(db).find(orderId));
    OrderDetail d;
    KL_TRY_ASSIGN(d.summary, summarise(db, order, &d.devices));
    return d;
}

void printOrderList(Cli& cli, const std::vector<OrderSummary>& orders, bool json) {
    if (json) {
        QJsonArray list;
        for (const auto& s : orders)
            list.append(summaryJson(s));
        cli.out << QJsonDocument(QJsonObject{{QStringLiteral("orders"), list}}).toJson();
        return;
    }
    if (orders.empty()) {
        cli.out << "no orders yet: keyline order create --help\n";
        return;
    }
    cli.out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7\n")
                   .arg(QStringLiteral("ORDER"), -20)
                   .arg(QStringLiteral("CUSTOMER"), -16)
                   .arg(QStringLiteral("ENV"), -5)
                   .arg(QStringLiteral("QTY"), 6)
                   .arg(QStringLiteral("DONE"), 6)
                   .arg(QStringLiteral("SCRAP"), 6)
                   .arg(QStringLiteral("STATE"));
    for (const auto& s : orders)
        cli.out << QStringLiteral("%1 %2 %3 %4 %5 %6 %7\n")
                       .arg(s.order.id, -20)
                       .arg(s.order.customerId, -16)
                       .arg(db::environmentName(s.order.environment), -5)
                       .arg(s.order.quantity, 6)
                       .arg(s.counts.provisioned, 6)
                       .arg(s.counts.scrapped, 6)
                       .arg(s.order.state == db::OrderState::Open ? QStringLiteral("open")
                                                                  : QStringLiteral("closed"));
}

void printOrderDetail(Cli& cli, const OrderDetail& d, bool json) {
    const db::Order& o = d.summary.order;
    if (json) {
        QJsonArray devices;
        for (const db::Device& dev : d.devices)
            devices.append(QJsonObject{{QStringLiteral("id"), dev.id},
                                       {QStringLiteral("chipUid"), dev.chipUid},
                                       {QStringLiteral("port"), dev.slot},
                                       {QStringLiteral("state"), db::deviceStateName(dev.state)},
                                       {QStringLiteral("scrapped"), dev.scrapped},
                                       {QStringLiteral("reason"), dev.failureReason},
                                       {QStringLiteral("updatedAt"), dev.updatedAt}});
        QJsonObject doc = summaryJson(d.summary);
        doc.insert(QStringLiteral("devices"), devices);
        cli.out << QJsonDocument(doc).toJson();
        return;
    }
    const OrderCounts& c = d.summary.counts;
    cli.out << "order " << o.id << " (" << (o.state == db::OrderState::Open ? "open" : "closed")
            << "): customer " << o.customerId << ", " << db::environmentName(o.environment)
            << ", created by " << o.createdBy << " at " << o.createdAt << '\n'
            << "  quantity " << o.quantity << ": " << c.provisioned << " provisioned, "
            << c.inProgress << " in progress, " << c.failed << " failed, " << c.scrapped
            << " scrapped, " << c.remaining(o) << " remaining; " << c.certificates
            << " certificates issued\n";
    for (const db::Device& dev : d.devices) {
        const QString state =
            dev.scrapped ? QStringLiteral("scrapped") : db::deviceStateName(dev.state);
        cli.out << "  " << dev.id << "  " << state.leftJustified(12) << " chip " << dev.chipUid
                << "  " << dev.slot;
        if (!dev.failureReason.isEmpty())
            cli.out << "  " << dev.failureReason;
        cli.out << '\n';
    }
}

} // namespace keyline::station
