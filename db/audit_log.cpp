#include "db/audit_log.h"

#include "db/database.h"
#include "db/timestamp.h"

#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

namespace keyline::db {

namespace {

const QString kColumns = QStringLiteral("seq, recorded_at, station_id, operator, order_id, "
                                        "event, details, prev_hash, order_prev_hash, hash");

AuditEntry entryFromRow(const QSqlQuery& q) {
    AuditEntry e;
    e.seq = q.value(0).toLongLong();
    e.time = q.value(1).toString();
    e.stationId = q.value(2).toString();
    e.operatorName = q.value(3).toString();
    e.orderId = q.value(4).toString();
    e.event = q.value(5).toString();
    e.details = q.value(6).toString();
    e.prevHash = q.value(7).toString();
    e.orderPrevHash = q.value(8).toString();
    e.hash = q.value(9).toString();
    return e;
}

// Names that only ever hold secrets. The audit log is exported to auditors: a secret in it
// would leave the station.
std::optional<QString> secretLookingKey(const QJsonValue& value) {
    static const QStringList denied = {QStringLiteral("pin"),         QStringLiteral("password"),
                                       QStringLiteral("passphrase"),  QStringLiteral("secret"),
                                       QStringLiteral("private_key"), QStringLiteral("wrapped_key"),
                                       QStringLiteral("key_material")};
    if (value.isObject()) {
        const QJsonObject object = value.toObject();
        for (auto it = object.begin(); it != object.end(); ++it) {
            if (denied.contains(it.key().toLower()))
                return it.key();
            if (auto nested = secretLookingKey(it.value()))
                return nested;
        }
    } else if (value.isArray()) {
        for (const QJsonValue& item : value.toArray())
            if (auto nested = secretLookingKey(item))
                return nested;
    }
    return std::nullopt;
}

Result<void> checkEvent(const QString& stationId, const AuditEvent& event) {
    static const QRegularExpression eventPattern(QStringLiteral("^[a-z][a-z0-9._-]{0,63}$"));
    if (!eventPattern.match(event.event).hasMatch())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("audit event name \"%1\" must be lowercase letters, digits, "
                                    "'.', '_' or '-'")
                         .arg(event.event));
    if (stationId.isEmpty() || !isPlainAuditText(stationId) ||
        !isPlainAuditText(event.operatorName) || !isPlainAuditText(event.orderId))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("audit event %1: station, operator and order must be "
                                    "single-line text (and the station set)")
                         .arg(event.event));
    if (auto key = secretLookingKey(event.details))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("audit event %1: details must not carry secrets (field "
                                    "\"%2\")")
                         .arg(event.event, *key));
    return success();
}

} // namespace

Result<AuditEntry> AuditLog::append(const AuditEvent& event) {
    KL_TRY(checkEvent(m_stationId, event));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    AuditEntry e;
    KL_TRY_ASSIGN(QSqlQuery last, m_db.exec(QStringLiteral("SELECT seq, hash FROM audit_log "
                                                           "ORDER BY seq DESC LIMIT 1")));
    e.seq = last.next() ? last.value(0).toLongLong() + 1 : 1;
    e.prevHash = e.seq == 1 ? kGenesisHash : last.value(1).toString();
    if (!event.orderId.isEmpty()) {
        KL_TRY_ASSIGN(QSqlQuery lastOfOrder,
                      m_db.exec(QStringLiteral("SELECT hash FROM audit_log WHERE order_id = ? "
                                               "ORDER BY seq DESC LIMIT 1"),
                                {event.orderId}));
        e.orderPrevHash = lastOfOrder.next() ? lastOfOrder.value(0).toString() : kGenesisHash;
    }
    e.time = timestampNow();
    e.stationId = m_stationId;
    e.operatorName = event.operatorName;
    e.orderId = event.orderId;
    e.event = event.event;
    // QJsonObject keeps keys sorted, so equal details always give the same text.
    e.details = QString::fromUtf8(QJsonDocument(event.details).toJson(QJsonDocument::Compact));
    e.hash = computeAuditHash(e);
    KL_TRY(m_db.exec(QStringLiteral("INSERT INTO audit_log (") + kColumns +
                         QStringLiteral(") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                     {e.seq, e.time, e.stationId, e.operatorName, e.orderId, e.event, e.details,
                      e.prevHash, e.orderPrevHash, e.hash}));
    KL_TRY(tx.commit());
    return e;
}

Result<AuditChainStatus> AuditLog::verifyChain() {
    AuditChainStatus status;
    QHash<QString, QString> lastHashOfOrder;
    auto broken = [&status](qint64 seq, const QString& problem) {
        status.firstBrokenSeq = seq;
        status.problem = problem;
        return Error(ErrorCode::VerificationFailed, problem); // stops the walk
    };
    auto walked = forEach(QString(), [&](const AuditEntry& e) -> Result<void> {
        const qint64 expectedSeq = status.entries + 1;
        if (e.seq != expectedSeq)
            return broken(
                expectedSeq,
                QStringLiteral("entry %1 is missing (next is %2)").arg(expectedSeq).arg(e.seq));
        if (e.prevHash != status.lastHash)
            return broken(
                e.seq,
                QStringLiteral("entry %1 does not link to entry %2").arg(e.seq).arg(e.seq - 1));
        if (!e.orderId.isEmpty() &&
            e.orderPrevHash != lastHashOfOrder.value(e.orderId, kGenesisHash))
            return broken(e.seq, QStringLiteral("entry %1 does not link to the previous entry "
                                                "of order %2")
                                     .arg(e.seq)
                                     .arg(e.orderId));
        if (e.orderId.isEmpty() && !e.orderPrevHash.isEmpty())
            return broken(e.seq,
                          QStringLiteral("entry %1 has an order link but no order").arg(e.seq));
        if (computeAuditHash(e) != e.hash)
            return broken(e.seq, QStringLiteral("entry %1 does not match its hash: it was "
                                                "altered")
                                     .arg(e.seq));
        status.entries = e.seq;
        status.lastHash = e.hash;
        if (!e.orderId.isEmpty())
            lastHashOfOrder.insert(e.orderId, e.hash);
        return success();
    });
    if (!walked.ok() && status.intact())
        return std::move(walked).error();
    return status;
}

Result<void> AuditLog::forEach(const QString& orderId,
                               const std::function<Result<void>(const AuditEntry&)>& visit) {
    // One statement: SQLite (WAL) and PostgreSQL both give it a consistent snapshot, so the
    // writer can go on while an export reads.
    const QString sql = QStringLiteral("SELECT ") + kColumns + QStringLiteral(" FROM audit_log") +
                        (orderId.isEmpty() ? QString() : QStringLiteral(" WHERE order_id = ?")) +
                        QStringLiteral(" ORDER BY seq");
    KL_TRY_ASSIGN(QSqlQuery q,
                  m_db.exec(sql, orderId.isEmpty() ? QVariantList{} : QVariantList{orderId}));
    while (q.next())
        KL_TRY(visit(entryFromRow(q)));
    if (q.lastError().isValid())
        return m_db.errorFrom(QStringLiteral("read the audit log"), q.lastError());
    return success();
}

} // namespace keyline::db
