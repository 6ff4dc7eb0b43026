#pragma once

// The durable outbox of back-end registrations: the engine enqueues a registration in the same
// transaction that finishes the device, and the sync client (later) delivers it, retrying with
// back-off, so the back-end being down never loses a registration.

#include "common/result.h"

#include <QDateTime>
#include <QString>
#include <vector>

namespace keyline::db {

class Database;

enum class OutboxState { Pending, Done, Failed };

struct OutboxEntry {
    qint64 id = 0;
    QString deviceId;
    QString kind;    // what to deliver, e.g. "register"; one entry per device and kind
    QString payload; // JSON text for the back-end
    int attempts = 0;
    QString nextAttemptAt;
    OutboxState state = OutboxState::Pending;
    QString lastError;
    QString createdAt;
    QString updatedAt;
};

class OutboxRepository {
public:
    explicit OutboxRepository(Database& db)
        : m_db(db) {}

    // Idempotent per device and kind: enqueuing again returns the existing entry unchanged.
    Result<OutboxEntry> enqueue(const QString& deviceId, const QString& kind,
                                const QString& payload);
    Result<OutboxEntry> find(qint64 id); // NotFound
    // Pending entries whose next attempt is due at `now`, oldest first.
    Result<std::vector<OutboxEntry>> due(const QDateTime& now, int limit);
    Result<void> markDone(qint64 id);
    // Counts the attempt and schedules the next one.
    Result<void> markAttemptFailed(qint64 id, const QString& error, const QDateTime& nextAttempt);
    // Gives up: the back-end refused for good; a person must look.
    Result<void> markFailed(qint64 id, const QString& error);
    Result<int> pendingCount();

private:
    Result<void> update(qint64 id, const QString& sql, const QVariantList& values);

    Database& m_db;
};

} // namespace keyline::db
