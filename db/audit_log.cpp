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
    static const QRegularExpression eventPattern(QStringLiteral("^[a-z][a-z0-9._-]{0,63}\\z"));
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

Result<QStringList> AuditLog::stations(Database& db, const QString& orderId) {
    KL_TRY_ASSIGN(
        QSqlQuery q,
        db.exec(QStringLiteral("SELECT DISTINCT station_id FROM audit_log") +
                    (orderId.isEmpty() ? QString() : QStringLiteral(" WHERE order_id = ?")) +
                    QStringLiteral(" ORDER BY station_id"),
                orderId.isEmpty() ? QVariantList{} : QVariantList{orderId}));
    QStringList list;
    while (q.next())
        list << q.value(0).toString();
    return list;
}

Result<QString> AuditLog::lastEntryTime() {
    KL_TRY_ASSIGN(QSqlQuery last,
                  m_db.exec(QStringLiteral("SELECT recorded_at FROM audit_log WHERE "
                                           "station_id = ? ORDER BY seq DESC "
                                           "LIMIT 1"),
                            {m_stationId}));
    return last.next() ? last.value(0).toString() : QString();
}

Result<AuditEntry> AuditLog::append(const AuditEvent& event) {
    KL_TRY(checkEvent(m_stationId, event));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    // Each station extends only its own chain, so stations sharing a database never wait for
    // each other here; two processes of one station queue on its chain head.
    KL_TRY(m_db.lockName(QStringLiteral("keyline-audit:") + m_stationId));
    AuditEntry e;
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> last,
                  m_db.one(QStringLiteral("SELECT seq, hash FROM audit_log WHERE station_id = ? "
                                          "ORDER BY seq DESC LIMIT 1"),
                           {m_stationId}));
    e.seq = last ? last->value(0).toLongLong() + 1 : 1;
    e.prevHash = last ? last->value(1).toString() : kGenesisHash;
    if (!event.orderId.isEmpty()) {
        KL_TRY_ASSIGN(const std::optional<QSqlRecord> lastOfOrder,
                      m_db.one(QStringLiteral("SELECT hash FROM audit_log WHERE station_id = ? "
                                              "AND order_id = ? ORDER BY seq DESC LIMIT 1"),
                               {m_stationId, event.orderId}));
        e.orderPrevHash = lastOfOrder ? lastOfOrder->value(0).toString() : kGenesisHash;
    }
    e.time = timestampNow();
    e.stationId = m_stationId;
    e.operatorName = event.operatorName;
    e.orderId = event.orderId;
    e.event = event.event;
    // QJsonObject keeps keys sorted, so equal details always give the same text.
    e.details = QString::fromUtf8(QJsonDocument(event.details).toJson(QJsonDocument::Compact));
    e.hash = computeAuditHash(e);
    KL_TRY(m_db.run(QStringLiteral("INSERT INTO audit_log (") + kColumns +
                        QStringLiteral(") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                    {e.seq, e.time, e.stationId, e.operatorName, e.orderId, e.event, e.details,
                     e.prevHash, e.orderPrevHash, e.hash}));
    KL_TRY(tx.commit());
    return e;
}

Result<AuditChainStatus> AuditLog::verifyChain() {
    AuditChainStatus status;
    // The walk is ordered by station, then seq: one chain after the other.
    QString station;
    qint64 count = 0;
    QString lastHash = kGenesisHash;
    QHash<QString, QString> lastHashOfOrder;
    auto broken = [&](qint64 seq, const QString& problem) {
        status.firstBrokenSeq = seq;
        status.brokenStation = station;
        status.problem = status.stations > 1 || station != m_stationId
                             ? QStringLiteral("station %1: %2").arg(station, problem)
                             : problem;
        return Error(ErrorCode::VerificationFailed, problem); // stops the walk
    };
    auto walked = walk(QString(), QString(), [&](const AuditEntry& e) -> Result<void> {
        if (status.stations == 0 || e.stationId != station) {
            station = e.stationId;
            count = 0;
            lastHash = kGenesisHash;
            lastHashOfOrder.clear();
            ++status.stations;
        }
        const qint64 expectedSeq = count + 1;
        if (e.seq != expectedSeq)
            return broken(
                expectedSeq,
                QStringLiteral("entry %1 is missing (next is %2)").arg(expectedSeq).arg(e.seq));
        if (e.prevHash != lastHash)
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
        count = e.seq;
        lastHash = e.hash;
        ++status.entries;
        if (station == m_stationId)
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
    return walk(m_stationId, orderId, visit);
}

Result<void> AuditLog::walk(const QString& stationId, const QString& orderId,
                            const std::function<Result<void>(const AuditEntry&)>& visit) {
    // One statement: SQLite (WAL) and PostgreSQL both give it a consistent snapshot, so the
    // writer can go on while an export reads.
    QStringList where;
    QVariantList values;
    if (!stationId.isEmpty()) {
        where << QStringLiteral("station_id = ?");
        values << stationId;
    }
    if (!orderId.isEmpty()) {
        where << QStringLiteral("order_id = ?");
        values << orderId;
    }
    const QString sql =
        QStringLiteral("SELECT ") + kColumns + QStringLiteral(" FROM audit_log") +
        (where.isEmpty() ? QString()
                         : QStringLiteral(" WHERE ") + where.join(QStringLiteral(" AND "))) +
        QStringLiteral(" ORDER BY station_id, seq");
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(sql, values));
    while (q.next())
        KL_TRY(visit(entryFromRow(q)));
    if (q.lastError().isValid())
        return m_db.errorFrom(QStringLiteral("read the audit log"), q.lastError());
    return success();
}

} // namespace keyline::db
