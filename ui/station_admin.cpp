#include "ui/station_admin.h"

#include "db/audit_export.h"
#include "db/audit_log.h"
#include "db/outbox_repository.h"
#include "flashing/flash_writer.h"
#include "hsm/x509_sign.h"
#include "station/audit_chain.h"
#include "station/command_util.h"
#include "station/operator_auth.h"
#include "station/order_check.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonObject>

namespace keyline::ui {
namespace {

Result<void> mayAdminister(const db::OperatorAccount& who, const QString& action) {
    return station::requireRole(who, {db::Role::Supervisor, db::Role::Engineer}, action);
}

} // namespace

Result<db::OperatorAccount> logIn(db::Database& db, const QString& name, const QString& pin) {
    return db::OperatorRepository(db).authenticate(name.trimmed(), pin);
}

Result<std::vector<station::OrderSummary>> openOrders(db::Database& db) {
    KL_TRY_ASSIGN(std::vector<station::OrderSummary> all, station::listOrders(db));
    std::erase_if(
        all, [](const station::OrderSummary& s) { return s.order.state != db::OrderState::Open; });
    return all;
}

Result<station::OrderSummary> orderSummary(db::Database& db, const QString& orderId) {
    KL_TRY_ASSIGN(station::OrderDetail detail, station::showOrder(db, orderId));
    return detail.summary;
}

Result<db::Order> createOrder(const station::StationContext& context, db::Database& db,
                              const db::OperatorAccount& who, const NewOrderForm& form) {
    KL_TRY(mayAdminister(who, QStringLiteral("creating an order")));
    if (form.customerId.isEmpty() || form.packagePath.isEmpty() || form.keystorePath.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("an order needs a customer, a package and a keystore"));
    if (form.quantity < 1 || form.quantity > 99999)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("the quantity must be 1 to 99999"));
    const QString id =
        form.id.isEmpty()
            ? QDateTime::currentDateTimeUtc().toString(QStringLiteral("'O'yyyyMMdd-hhmmss"))
            : form.id;
    if (!db::isValidOrderId(id))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("the order ID must be 1-32 of A-Z a-z 0-9 . _ - starting "
                                    "with a letter or digit"));
    station::OrderMaterial material;
    material.customerId = form.customerId;
    material.environment =
        form.production ? firmware::Environment::Production : firmware::Environment::Development;
    KL_TRY_ASSIGN(material.keystore, station::readArgumentFile(
                                         form.keystorePath, QStringLiteral("keystore"), 64 * 1024));
    KL_TRY_ASSIGN(material.package,
                  station::readArgumentFile(form.packagePath, QStringLiteral("package"),
                                            firmware::kMaxPackageBytes));
    if (db::OrderRepository(db).find(id))
        return Error(ErrorCode::Refused, QStringLiteral("order %1 exists already").arg(id));
    {
        KL_TRY_ASSIGN(auto hsm, context.openHsm());
        KL_TRY(station::checkOrderMaterial(context, *hsm, material));
    }
    // The order's own copies first: an order row never points at files that are not there.
    const QString packagePath = station::orderPackagePath(context, id);
    if (!QDir().mkpath(context.orderDir(id)))
        return Error(ErrorCode::Io, QStringLiteral("cannot create %1").arg(context.orderDir(id)));
    KL_TRY(station::writeOutputFile(station::orderKeystorePath(context, id), material.keystore));
    KL_TRY(station::writeOutputFile(packagePath, material.package));

    db::NewOrder order;
    order.id = id;
    order.customerId = form.customerId;
    order.environment =
        form.production ? db::Environment::Production : db::Environment::Development;
    order.quantity = form.quantity;
    order.packagePath = packagePath;
    order.packageSha256 = QString::fromLatin1(flashing::sha256(material.package).toHex());
    order.keystoreSha256 = QString::fromLatin1(flashing::sha256(material.keystore).toHex());
    order.createdBy = who.name;
    KL_TRY_ASSIGN(db::Transaction tx, db.begin());
    KL_TRY_ASSIGN(db::Order created, db::OrderRepository(db).create(order));
    KL_TRY(db::AuditLog(db, context.config().stationName)
               .append({who.name, id, QStringLiteral("order.created"),
                        QJsonObject{{QStringLiteral("customerId"), created.customerId},
                                    {QStringLiteral("environment"),
                                     db::environmentName(created.environment)},
                                    {QStringLiteral("quantity"), created.quantity},
                                    {QStringLiteral("packageSha256"), created.packageSha256},
                                    {QStringLiteral("keystoreSha256"), created.keystoreSha256},
                                    {QStringLiteral("via"), QStringLiteral("keyline-station")}}}));
    KL_TRY(tx.commit());
    return created;
}

Result<db::Order> closeOrder(const station::StationContext& context, db::Database& db,
                             const db::OperatorAccount& who, const QString& orderId) {
    KL_TRY(mayAdminister(who, QStringLiteral("closing an order")));
    KL_TRY_ASSIGN(db::Transaction tx, db.begin());
    KL_TRY_ASSIGN(db::Order closed, db::OrderRepository(db).close(orderId));
    KL_TRY(db::AuditLog(db, context.config().stationName)
               .append({who.name, orderId, QStringLiteral("order.closed"), QJsonObject{}}));
    KL_TRY(tx.commit());
    return closed;
}

QString defaultAuditDir(const station::StationContext& context) {
    return QDir(context.config().dataDir).filePath(QStringLiteral("audit-exports"));
}

Result<AuditExportResult> exportOrderAudit(const station::StationContext& context, db::Database& db,
                                           const db::OperatorAccount& who, const QString& orderId,
                                           const QString& dir) {
    KL_TRY(mayAdminister(who, QStringLiteral("exporting the audit log")));
    const station::StationConfig& config = context.config();
    db::AuditLog log(db, config.stationName);
    // A broken chain is never exported signed as if it were sound.
    KL_TRY_ASSIGN(const db::AuditChainStatus chain, log.verifyChain());
    if (!chain.intact())
        return Error(ErrorCode::VerificationFailed,
                     QStringLiteral("the audit log is broken at seq %1: %2; nothing was exported")
                         .arg(*chain.firstBrokenSeq)
                         .arg(chain.problem));
    if (!QDir().mkpath(dir))
        return Error(ErrorCode::Io, QStringLiteral("cannot create the folder %1").arg(dir));
    const QString records = QDir(dir).filePath(
        QStringLiteral("audit-%1-%2.jsonl")
            .arg(orderId,
                 QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-hhmmss"))));
    KL_TRY_ASSIGN(auto hsm, context.openHsm());
    const QString rootPath =
        QDir(context.exportDir()).filePath(QStringLiteral("device-root-ca.pem"));
    KL_TRY_ASSIGN(const QByteArray chainPem,
                  station::auditChainPem(*hsm, config.auditKey, rootPath));
    KL_TRY_ASSIGN(std::shared_ptr<Signer> signer, hsm->signer(config.auditKey));
    KL_TRY_ASSIGN(
        const db::AuditExportFiles files,
        db::exportAudit(db, {orderId, db::AuditExportFormat::Jsonl, records, config.stationName},
                        *signer, chainPem));
    KL_TRY(log.append(
        {who.name, orderId, QStringLiteral("audit.exported"),
         QJsonObject{{QStringLiteral("scope"), QStringLiteral("order")},
                     {QStringLiteral("format"), QStringLiteral("jsonl")},
                     {QStringLiteral("records"), double(files.anchors.count)},
                     {QStringLiteral("last_hash"), files.anchors.lastHash},
                     {QStringLiteral("file"), QFileInfo(files.recordsPath).fileName()}}}));
    return AuditExportResult{files.recordsPath, files.signaturePath, files.anchors.count};
}

Attention checkAttention(const station::StationContext& context, db::Database& db) {
    Attention a;
    if (auto hsm = context.openHsm(); !hsm)
        a.hsmProblem = hsm.error().toString();
    db::OutboxRepository outbox(db);
    if (auto pending = outbox.pendingCount())
        a.pendingRegistrations = *pending;
    // Entries a delivery already failed for: the back-end did not take them.
    if (a.pendingRegistrations > 0)
        if (auto due = outbox.due(QDateTime::currentDateTimeUtc().addYears(100), 50))
            for (const db::OutboxEntry& e : *due)
                if (e.attempts > 0 && !e.lastError.isEmpty())
                    a.backendProblem = e.lastError;
    return a;
}

} // namespace keyline::ui
