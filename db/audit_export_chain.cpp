// verifyAuditExportChain: the hash chain of an export file, with a diagnosis of what happened
// at the first place it breaks. Declared in audit_export_format.h.

#include "db/audit_export_format.h"

#include <QHash>

namespace keyline::db {

namespace {

Error broken(int line, const QString& what) {
    return Error(ErrorCode::VerificationFailed, QStringLiteral("line %1: %2").arg(line).arg(what),
                 line);
}

} // namespace

Result<void> verifyAuditExportChain(const ParsedAuditExport& parsed) {
    const auto& records = parsed.records;
    const bool wholeLog = parsed.header.wholeLog();
    auto link = [wholeLog](const AuditEntry& e) {
        return wholeLog ? e.prevHash : e.orderPrevHash;
    };
    // Where each hash sits, to tell a moved record from a missing one.
    QHash<QString, qsizetype> position;
    for (qsizetype i = 0; i < qsizetype(records.size()); ++i)
        position.insert(records[std::size_t(i)].hash, i);

    for (std::size_t i = 0; i < records.size(); ++i) {
        const AuditEntry& e = records[i];
        const int line = parsed.recordLines[i];
        const QString where = QStringLiteral("record %1 (seq %2)").arg(i + 1).arg(e.seq);
        if (!wholeLog && e.orderId != parsed.header.orderId)
            return broken(line, QStringLiteral("%1 belongs to order \"%2\", not to the exported "
                                               "order %3")
                                    .arg(where, e.orderId, parsed.header.orderId));
        if (computeAuditHash(e) != e.hash)
            return broken(line,
                          QStringLiteral("%1 does not match its hash: it was altered").arg(where));
        const QString expected = i == 0 ? parsed.anchors.firstPrevHash : records[i - 1].hash;
        if (link(e) == expected) {
            // One export is one station's chain: a record of another station does not belong
            // in it, however it links.
            if (i > 0 && e.stationId != records.front().stationId)
                return broken(line, QStringLiteral("%1 is of station \"%2\", not of the "
                                                   "exported station %3")
                                        .arg(where, e.stationId, records.front().stationId));
            continue;
        }
        const auto target = position.constFind(link(e));
        if (target != position.constEnd() && std::size_t(*target) > i)
            return broken(line, QStringLiteral("%1 is out of order: it follows the record on "
                                               "line %2")
                                    .arg(where)
                                    .arg(parsed.recordLines[std::size_t(*target)]));
        if (i > 0 && e.seq <= records[i - 1].seq)
            return broken(line, QStringLiteral("%1 is out of order: seq %2 comes after seq %3")
                                    .arg(where)
                                    .arg(e.seq)
                                    .arg(records[i - 1].seq));
        if (i >= 2 && link(e) == records[i - 2].hash)
            return broken(parsed.recordLines[i - 1],
                          QStringLiteral("record %1 (seq %2) was inserted: the chain goes from "
                                         "line %3 straight to line %4")
                              .arg(i)
                              .arg(records[i - 1].seq)
                              .arg(parsed.recordLines[i - 2])
                              .arg(line));
        if (i == 0)
            return broken(line, QStringLiteral("%1 does not continue the anchored chain: records "
                                               "before it were removed or it was inserted")
                                    .arg(where));
        return broken(line, QStringLiteral("%1 does not link to the record before it: records "
                                           "between them were removed")
                                .arg(where));
    }

    const int anchorsLine = parsed.recordLines.empty()
                                ? (parsed.format == AuditExportFormat::Csv ? 3 : 2)
                                : parsed.recordLines.back() + 1;
    if (parsed.anchors.count != qint64(records.size()))
        return broken(anchorsLine, QStringLiteral("the anchors count %1 records but the file has "
                                                  "%2: records were removed or added")
                                       .arg(parsed.anchors.count)
                                       .arg(records.size()));
    const QString lastHash = records.empty() ? parsed.anchors.firstPrevHash : records.back().hash;
    if (parsed.anchors.lastHash != lastHash)
        return broken(anchorsLine, QStringLiteral("the last record's hash is not the anchored "
                                                  "last hash: records at the end were removed "
                                                  "or replaced"));
    if (wholeLog && !records.empty() &&
        (records.front().seq != 1 || parsed.anchors.firstPrevHash != kGenesisHash))
        return broken(parsed.recordLines.front(),
                      QStringLiteral("an export of the whole log starts at seq 1 from the "
                                     "genesis hash"));
    return success();
}

} // namespace keyline::db
