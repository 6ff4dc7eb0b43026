#pragma once

// The hash-chained audit log in the database. append() joins the caller's transaction when
// there is one, so a state change and the entry recording it commit together:
//
//   auto tx = db.begin(); orders.close(id); audit.append({op, id, "order.closed", {}});
//   tx.commit();
//
// Entries are never updated or deleted. verifyChain() re-walks the whole log.

#include "common/result.h"
#include "db/audit_entry.h"

#include <QJsonObject>
#include <QString>
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
    qint64 entries = 0;
    QString lastHash = kGenesisHash;
    std::optional<qint64> firstBrokenSeq; // the first entry that does not verify
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

    // Walks the chain in sequence order: seq without gaps, every prev_hash and order_prev_hash
    // link, every hash. Reports the first entry that fails; an error only for I/O.
    Result<AuditChainStatus> verifyChain();

    // Entries in sequence order, all (orderId empty) or one order's. Stops at the first error
    // `visit` returns and passes it on.
    Result<void> forEach(const QString& orderId,
                         const std::function<Result<void>(const AuditEntry&)>& visit);

private:
    Database& m_db;
    QString m_stationId;
};

} // namespace keyline::db
