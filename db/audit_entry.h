#pragma once

// One audit log entry and its hash. The hash is SHA-256 over a canonical encoding of every
// other field, the previous entries' hashes included, so changing, removing, inserting or
// reordering an entry breaks the chain from that entry on. Encoding (docs/audit.md):
//
//   "keyline-audit-v1\n" then, for each field in this order
//     seq, time, station, operator, order, event, details, prev_hash, order_prev_hash
//   the field's UTF-8 byte length in decimal, ':', the bytes, '\n'.
//
// The length prefix makes the encoding unambiguous whatever the fields contain.

#include <QByteArray>
#include <QString>

namespace keyline::db {

// prev_hash of the first entry, and order_prev_hash of an order's first entry.
inline const QString kGenesisHash = QString(64, QLatin1Char('0'));

struct AuditEntry {
    qint64 seq = 0; // 1, 2, 3, ... with no gaps, over the whole station
    QString time;   // UTC ISO 8601 with ms
    QString stationId;
    QString operatorName; // who did it; empty for the station itself
    QString orderId;      // the order it concerns; empty for none
    QString event;        // e.g. "order.created", "certificate.issued"
    QString details;      // compact JSON object text
    QString prevHash;     // hash of entry seq-1, kGenesisHash for seq 1
    // Hash of the previous entry of the same order (kGenesisHash for its first), empty when
    // orderId is empty. It makes one order's entries a chain of their own, so a per-order
    // export verifies without the other orders' entries.
    QString orderPrevHash;
    QString hash; // lowercase hex SHA-256 of canonicalAuditEncoding()
};

QByteArray canonicalAuditEncoding(const AuditEntry& entry);
QString computeAuditHash(const AuditEntry& entry);

// Station, operator, order and event text must be single-line and free of control characters,
// so every export format keeps one entry per line.
bool isPlainAuditText(const QString& text);

} // namespace keyline::db
