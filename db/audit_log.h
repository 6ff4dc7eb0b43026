#pragma once

// The hash-chained audit log in the database. append() joins the caller's transaction when
// there is one, so a state change and the entry recording it commit together:
//
//   auto tx = db.begin(); orders.close(id); audit.append({op, id, "order.closed", {}});
//   tx.commit();
//
// Each station has its own chain (seq 1, 2, 3 ... and prev_hash over the station's entries,
// order_prev_hash over the station's entries of one order), so stations sharing a PostgreSQL
// database append without waiting for each other and each chain verifies on its own.
// Entries are never updated or deleted. verifyChain() re-walks every station's chain.

#include "common/result.h"
#include "db/audit_entry.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <functional>
#include <optional>

namespace keyline::db {

class Database;

struct AuditEvent {
    QString operatorName; // empty for the station itself
    QString orderId;      // empty when the event concerns no order
    QString event;        // [a-z][a-z0-9._-]*, e.g. "certificate.issued"
    QJsonObject details;  // never a secret: PINs, passwords and key material are refused
};

struct AuditChainStatus {
    qint64 entries = 0;                   // over every station's chain
    int stations = 0;                     // chains walked
    QString lastHash = kGenesisHash;      // the last hash of this AuditLog's station's chain
    std::optional<qint64> firstBrokenSeq; // the first entry that does not verify
    QString brokenStation;                // whose chain it is in
    QString problem;                      // what is wrong with it
    bool intact() const { return !firstBrokenSeq.has_value(); }
};

class AuditLog {
public:
    AuditLog(Database& db, QString stationId)
        : m_db(db)
        , m_stationId(std::move(stationId)) {}

    // InvalidArgument for a malformed event or details carrying a secret-looking key.
    Result<AuditEntry> append(const AuditEvent& event);

    // Walks every station's chain in sequence order: seq without gaps, every prev_hash and
    // order_prev_hash link, every hash. Reports the first entry that fails; an error only for
    // I/O.
    Result<AuditChainStatus> verifyChain();

    // Entries of this station's chain in sequence order (of every station, chain after chain,
    // when the station ID is empty), all (orderId empty) or one order's. Stops at the first
    // error `visit` returns and passes it on.
    Result<void> forEach(const QString& orderId,
                         const std::function<Result<void>(const AuditEntry&)>& visit);

    // The time of this station's newest entry ("" when it has none): a station whose clock
    // reads earlier than this would write an audit log whose times go backwards.
    Result<QString> lastEntryTime();

    // The stations with entries in the log (or in one order's entries), sorted.
    static Result<QStringList> stations(Database& db, const QString& orderId = QString());

private:
    // forEach() over one station's chain, or every chain when stationId is empty.
    Result<void> walk(const QString& stationId, const QString& orderId,
                      const std::function<Result<void>(const AuditEntry&)>& visit);

    Database& m_db;
    QString m_stationId;
};

} // namespace keyline::db
