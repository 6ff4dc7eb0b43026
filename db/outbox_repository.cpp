#include "db/outbox_repository.h"

#include "db/database.h"
#include "db/timestamp.h"

namespace keyline::db {

namespace {

const QString kColumns = QStringLiteral("id, device_id, kind, payload, attempts, "
                                        "next_attempt_at, state, last_error, created_at, "
                                        "updated_at");

OutboxState stateFromText(const QString& text) {
    if (text == QLatin1String("done"))
        return OutboxState::Done;
    if (text == QLatin1String("failed"))
        return OutboxState::Failed;
    return OutboxState::Pending;
}

template <typename Row> // QSqlQuery or QSqlRecord
OutboxEntry entryFromRow(const Row& q) {
    OutboxEntry e;
    e.id = q.value(0).toLongLong();
    e.deviceId = q.value(1).toString();
    e.kind = q.value(2).toString();
    e.payload = q.value(3).toString();
    e.attempts = q.value(4).toInt();
    e.nextAttemptAt = q.value(5).toString();
    e.state = stateFromText(q.value(6).toString());
    e.lastError = q.value(7).toString();
    e.createdAt = q.value(8).toString();
    e.updatedAt = q.value(9).toString();
    return e;
}

} // namespace

Result<OutboxEntry> OutboxRepository::enqueue(const QString& deviceId, const QString& kind,
                                              const QString& payload) {
    if (kind.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("outbox entry has no kind"));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    const QString now = timestampNow();
    // ON CONFLICT DO NOTHING reads the same in SQLite and PostgreSQL.
    KL_TRY(m_db.run(QStringLiteral("INSERT INTO outbox (device_id, kind, payload, attempts, "
                                   "next_attempt_at, state, last_error, created_at, "
                                   "updated_at) VALUES (?, ?, ?, 0, ?, 'pending', '', ?, ?) "
                                   "ON CONFLICT (device_id, kind) DO NOTHING"),
                    {deviceId, kind, payload, now, now, now}));
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> row,
                  m_db.one(QStringLiteral("SELECT ") + kColumns +
                               QStringLiteral(" FROM outbox WHERE device_id = ? AND kind = ?"),
                           {deviceId, kind}));
    if (!row)
        return Error(ErrorCode::Internal, QStringLiteral("outbox entry vanished"));
    OutboxEntry entry = entryFromRow(*row);
    KL_TRY(tx.commit());
    return entry;
}

Result<OutboxEntry> OutboxRepository::find(qint64 id) {
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                             QStringLiteral(" FROM outbox WHERE id = ?"),
                                         {id}));
    if (!q.next())
        return Error(ErrorCode::NotFound, QStringLiteral("no outbox entry %1").arg(id));
    return entryFromRow(q);
}

Result<std::vector<OutboxEntry>> OutboxRepository::due(const QDateTime& now, int limit) {
    KL_TRY_ASSIGN(QSqlQuery q,
                  m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                QStringLiteral(" FROM outbox WHERE state = 'pending' AND "
                                               "next_attempt_at <= ? ORDER BY next_attempt_at, "
                                               "id LIMIT ?"),
                            {toTimestamp(now), limit}));
    std::vector<OutboxEntry> entries;
    while (q.next())
        entries.push_back(entryFromRow(q));
    return entries;
}

Result<void> OutboxRepository::markDone(qint64 id) {
    return update(id,
                  QStringLiteral("UPDATE outbox SET state = 'done', updated_at = ? WHERE id = ?"),
                  {timestampNow(), id});
}

Result<void> OutboxRepository::markAttemptFailed(qint64 id, const QString& error,
                                                 const QDateTime& nextAttempt) {
    return update(id,
                  QStringLiteral("UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
                                 "next_attempt_at = ?, updated_at = ? WHERE id = ?"),
                  {error, toTimestamp(nextAttempt), timestampNow(), id});
}

Result<void> OutboxRepository::markFailed(qint64 id, const QString& error) {
    return update(id,
                  QStringLiteral("UPDATE outbox SET state = 'failed', attempts = attempts + 1, "
                                 "last_error = ?, updated_at = ? WHERE id = ?"),
                  {error, timestampNow(), id});
}

Result<int> OutboxRepository::pendingCount() {
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT COUNT(*) FROM outbox WHERE "
                                                        "state = 'pending'")));
    return q.next() ? q.value(0).toInt() : 0;
}

Result<void> OutboxRepository::update(qint64 id, const QString& sql, const QVariantList& values) {
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY(find(id));
    KL_TRY(m_db.run(sql, values));
    return tx.commit();
}

} // namespace keyline::db
