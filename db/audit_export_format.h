#pragma once

// The audit export file: pure encoding and a strict parser, no database and no crypto, so the
// fuzzer and an offline verifier use exactly this. Layout (docs/audit.md):
//
//   JSONL                              CSV
//   {"type":"header",...}              #{"type":"header",...}
//                                      seq,time,station,operator,order,event,details,...
//   one JSON object per record         one row per record (RFC 4180 quoting)
//   {"type":"anchors",...}             #{"type":"anchors",...}
//
// Every line ends in '\n'. One content has one encoding: the parser re-encodes every line it
// reads and refuses any that differ, so what verifies is exactly what the writer wrote.

#include "common/result.h"
#include "db/audit_entry.h"

#include <QByteArray>
#include <QString>
#include <vector>

namespace keyline::db {

enum class AuditExportFormat { Jsonl, Csv };
QString auditExportFormatName(AuditExportFormat format); // "jsonl", "csv"
Result<AuditExportFormat> parseAuditExportFormat(const QString& text);

inline constexpr int kAuditExportVersion = 1;

struct AuditExportHeader {
    QString orderId;    // empty: the whole log (scope "all"); else scope "order"
    QString exportedAt; // UTC ISO 8601 with ms
    bool wholeLog() const { return orderId.isEmpty(); }
};

// What the records chain from and to. Records of the whole log link by prev_hash, one
// order's records by order_prev_hash.
struct AuditExportAnchors {
    QString firstPrevHash = kGenesisHash; // the link value of the first record
    QString lastHash = kGenesisHash;      // the hash of the last record
    qint64 count = 0;
};

struct ParsedAuditExport {
    AuditExportFormat format = AuditExportFormat::Jsonl;
    AuditExportHeader header;
    std::vector<AuditEntry> records;
    std::vector<int> recordLines; // 1-based line of each record in the file
    AuditExportAnchors anchors;
};

QByteArray encodeAuditHeaderLine(AuditExportFormat format, const AuditExportHeader& header);
// The CSV column names line; empty for JSONL.
QByteArray encodeAuditColumnsLine(AuditExportFormat format);
QByteArray encodeAuditRecordLine(AuditExportFormat format, const AuditEntry& entry);
QByteArray encodeAuditAnchorsLine(AuditExportFormat format, const AuditExportAnchors& anchors);
QByteArray encodeAuditExport(const ParsedAuditExport& parsed);

// Structure only. BadInput naming the line (and the field) for anything malformed; never
// trusts the content. The chain and signature are checked by verifyAuditExport().
Result<ParsedAuditExport> parseAuditExport(const QByteArray& bytes);

// The hash chain of a parsed export: every hash, every link, the anchors. VerificationFailed
// naming the line of the first record that was altered, inserted, moved or that follows
// removed records; Error::detail() is that line number.
Result<void> verifyAuditExportChain(const ParsedAuditExport& parsed);

} // namespace keyline::db
