#include "provisioning/db_records.h"

#include "db/audit_log.h"
#include "db/certificate_ledger.h"
#include "db/db_error.h"
#include "db/device_repository.h"
#include "db/key_fingerprint_registry.h"
#include "db/order_repository.h"
#include "db/outbox_repository.h"
#include "db/step_result_repository.h"

#include <QJsonObject>
#include <QSqlQuery>

namespace keyline::provisioning {

namespace {

// The order is full: the engine stops the run instead of failing devices one by one.
Error orderComplete(const QString& why) {
    return Error(ErrorCode::Refused, why, kOrderCompleteDetail);
}

Error translate(Error e) {
    if (db::isRefusal(e, db::DbRefusal::QuantityExceeded))
        return orderComplete(e.message());
    return e;
}

// Devices of the order that hold a unit of its quantity: provisioned, under way, or holding a
// certificate (a failed device with a certificate is scrap and still counts).
Result<int> unitsTaken(db::Database& db, const QString& orderId) {
    KL_TRY_ASSIGN(
        const std::optional<QSqlRecord> row,
        db.one(QStringLiteral("SELECT COUNT(*) FROM devices d WHERE d.order_id = ? AND "
                              "(d.state IN ('allocated', 'in_progress', 'provisioned') OR "
                              "EXISTS (SELECT 1 FROM certificates c WHERE c.device_id = d.id))"),
               {orderId}));
    if (!row)
        return Error(ErrorCode::Io, QStringLiteral("cannot count the order's devices"));
    return row->value(0).toInt();
}

} // namespace

DbRecords::DbRecords(RecordWriter& writer, RecordsIdentity identity)
    : m_writer(writer)
    , m_identity(std::move(identity)) {}

Result<DeviceAssignment> DbRecords::assign(const QByteArray& chipUid, const QString& port) {
    const RecordsIdentity id = m_identity;
    return m_writer.call<DeviceAssignment>([=](db::Database& db) -> Result<DeviceAssignment> {
        KL_TRY_ASSIGN(db::Transaction tx, db.begin());
        db::DeviceRepository devices(db);
        const QString uid = QString::fromLatin1(chipUid.toHex());
        KL_TRY_ASSIGN(const std::optional<db::Device> known, devices.findByChipUid(uid));
        if (!known) {
            // A new chip takes a unit of the order only while one is free. The order row is
            // locked first (PostgreSQL), so stations of a line sharing the order count in turn.
            KL_TRY_ASSIGN(const db::Order order, db::OrderRepository(db).findForUpdate(id.orderId));
            KL_TRY_ASSIGN(const int taken, unitsTaken(db, id.orderId));
            if (taken >= order.quantity)
                return orderComplete(QStringLiteral("order %1 is complete: its %2 devices are "
                                                    "provisioned or under way")
                                         .arg(id.orderId)
                                         .arg(order.quantity));
        }
        KL_TRY_ASSIGN(const db::Device device, devices.ensureForChip(id.orderId, uid, port));
        if (!known)
            KL_TRY(db::AuditLog(db, id.stationId)
                       .append({id.operatorName, id.orderId, QStringLiteral("device.assigned"),
                                QJsonObject{{QStringLiteral("deviceId"), device.id},
                                            {QStringLiteral("chipUid"), uid},
                                            {QStringLiteral("port"), port}}}));
        KL_TRY(tx.commit());
        DeviceAssignment a;
        a.deviceId = device.id;
        a.provisioned = device.state == db::DeviceState::Provisioned;
        a.scrapped = device.scrapped;
        a.failure = device.failureReason;
        return a;
    });
}

Result<void> DbRecords::recordStep(const StepRecord& record) {
    return m_writer.call<void>([=](db::Database& db) -> Result<void> {
        KL_TRY_ASSIGN(db::Transaction tx, db.begin());
        KL_TRY(db::StepResultRepository(db).record(
            record.deviceId, stepName(record.step),
            record.ok ? db::StepOutcome::Pass : db::StepOutcome::Fail, record.detail));
        KL_TRY(db::DeviceRepository(db).setState(record.deviceId, db::DeviceState::InProgress));
        return tx.commit();
    });
}

Result<std::optional<QByteArray>> DbRecords::issuedCertificate(const QString& deviceId) {
    return m_writer.call<std::optional<QByteArray>>(
        [=](db::Database& db) -> Result<std::optional<QByteArray>> {
            KL_TRY_ASSIGN(const std::optional<db::IssuedCertificate> c,
                          db::CertificateLedger(db).forDevice(deviceId));
            if (!c)
                return std::optional<QByteArray>();
            return std::optional<QByteArray>(c->der);
        });
}

Result<void> DbRecords::checkCanIssue(const QString& deviceId) {
    return m_writer.call<void>([=](db::Database& db) -> Result<void> {
        auto checked = db::CertificateLedger(db).checkCanIssue(deviceId);
        if (!checked)
            return translate(checked.error());
        return success();
    });
}

Result<void> DbRecords::recordCertificate(const CertificateRecord& record) {
    const RecordsIdentity id = m_identity;
    return m_writer.call<void>([=](db::Database& db) -> Result<void> {
        KL_TRY_ASSIGN(db::Transaction tx, db.begin());
        const QString fingerprint = db::KeyFingerprintRegistry::fingerprint(record.publicKeySpki);
        KL_TRY(db::KeyFingerprintRegistry(db).registerKey(fingerprint, record.deviceId));
        db::IssuedCertificate cert;
        cert.serial = record.serialHex;
        cert.deviceId = record.deviceId;
        cert.orderId = id.orderId;
        cert.publicKeySha256 = fingerprint;
        cert.der = record.der;
        if (auto recorded = db::CertificateLedger(db).record(cert); !recorded)
            return translate(recorded.error());
        KL_TRY(db::OutboxRepository(db).enqueue(record.deviceId, QStringLiteral("register"),
                                                QString::fromUtf8(record.registration)));
        KL_TRY(db::AuditLog(db, id.stationId)
                   .append({id.operatorName, id.orderId, QStringLiteral("certificate.issued"),
                            QJsonObject{{QStringLiteral("deviceId"), record.deviceId},
                                        {QStringLiteral("serial"), record.serialHex},
                                        {QStringLiteral("publicKeySha256"), fingerprint}}}));
        return tx.commit();
    });
}

Result<void> DbRecords::markProvisioned(const QString& deviceId) {
    const RecordsIdentity id = m_identity;
    return m_writer.call<void>([=](db::Database& db) -> Result<void> {
        KL_TRY_ASSIGN(db::Transaction tx, db.begin());
        KL_TRY(db::DeviceRepository(db).setState(deviceId, db::DeviceState::Provisioned));
        KL_TRY(db::AuditLog(db, id.stationId)
                   .append({id.operatorName, id.orderId, QStringLiteral("device.provisioned"),
                            QJsonObject{{QStringLiteral("deviceId"), deviceId}}}));
        return tx.commit();
    });
}

Result<void> DbRecords::markFailed(const QString& deviceId, Step step, const QString& reason,
                                   bool scrap) {
    const RecordsIdentity id = m_identity;
    return m_writer.call<void>([=](db::Database& db) -> Result<void> {
        KL_TRY_ASSIGN(db::Transaction tx, db.begin());
        KL_TRY(db::StepResultRepository(db).record(deviceId, stepName(step), db::StepOutcome::Fail,
                                                   reason));
        db::DeviceRepository devices(db);
        KL_TRY(scrap ? devices.scrap(deviceId, reason) : devices.markFailed(deviceId, reason));
        KL_TRY(db::AuditLog(db, id.stationId)
                   .append(
                       {id.operatorName, id.orderId,
                        scrap ? QStringLiteral("device.scrapped") : QStringLiteral("device.failed"),
                        QJsonObject{{QStringLiteral("deviceId"), deviceId},
                                    {QStringLiteral("step"), stepName(step)},
                                    {QStringLiteral("reason"), reason}}}));
        return tx.commit();
    });
}

Result<void> DbRecords::recordRejectedChip(const QByteArray& chipUid, const QString& port,
                                           const QString& reason) {
    const RecordsIdentity id = m_identity;
    return m_writer.call<void>([=](db::Database& db) -> Result<void> {
        KL_TRY(db::AuditLog(db, id.stationId)
                   .append({id.operatorName, id.orderId, QStringLiteral("chip.rejected"),
                            QJsonObject{
                                {QStringLiteral("chipUid"), QString::fromLatin1(chipUid.toHex())},
                                {QStringLiteral("port"), port},
                                {QStringLiteral("reason"), reason}}}));
        return success();
    });
}

Result<void> DbRecords::audit(const QString& event, const QJsonObject& details) {
    const RecordsIdentity id = m_identity;
    return m_writer.call<void>([=](db::Database& db) -> Result<void> {
        KL_TRY(
            db::AuditLog(db, id.stationId).append({id.operatorName, id.orderId, event, details}));
        return success();
    });
}

Result<int> DbRecords::pendingRegistrations() {
    return m_writer.call<int>(
        [](db::Database& db) -> Result<int> { return db::OutboxRepository(db).pendingCount(); });
}

} // namespace keyline::provisioning
