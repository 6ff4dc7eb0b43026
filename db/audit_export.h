#pragma once

// Exporting the audit log for an auditor, and checking such an export offline. An export is
// two files: the records (JSONL or CSV, with the chain anchors inside, see
// audit_export_format.h) and a detached CMS signature over them, "<records file>.p7s", made
// with the station's audit key through keyline::Signer. Format and the plain-OpenSSL check:
// docs/audit.md.

#include "common/result.h"
#include "common/signer.h"
#include "db/audit_export_format.h"

#include <QByteArray>
#include <QString>

namespace keyline::db {

class Database;

struct AuditExportRequest {
    QString orderId; // empty: the whole chain
    AuditExportFormat format = AuditExportFormat::Jsonl;
    QString recordsPath; // e.g. "audit-PO-17.jsonl"; the signature goes next to it
    // Whose chain: each station has its own (docs/audit.md). Empty: the only station in the
    // log (or in the order's entries); InvalidArgument when there are several.
    QString stationId;
};

struct AuditExportFiles {
    QString recordsPath;
    QString signaturePath; // recordsPath + ".p7s"
    AuditExportAnchors anchors;
};

QString auditSignaturePathFor(const QString& recordsPath);

// Reads the entries (one consistent snapshot), writes the records file and its signature, each
// replaced atomically. NotFound for an order with no audit entries (of the station);
// InvalidArgument if the first certificate of `certificateChainPem` is not for `auditKey`; Io for a
// file that cannot be written.
Result<AuditExportFiles> exportAudit(Database& db, const AuditExportRequest& request,
                                     const Signer& auditKey, const QByteArray& certificateChainPem);

struct AuditExportReport {
    AuditExportHeader header;
    AuditExportAnchors anchors;
    QString signer; // subject of the certificate that signed the export
};

// Offline: no database, no HSM. Parses the records (BadInput naming line and field), checks the
// hash chain (VerificationFailed naming the line of the first altered, inserted, removed or
// reordered record) and the signature against `trustedRootsPem` (VerificationFailed).
// `signaturePath` empty: recordsPath + ".p7s".
Result<AuditExportReport> verifyAuditExport(const QString& recordsPath,
                                            const QByteArray& trustedRootsPem,
                                            const QString& signaturePath = QString());

} // namespace keyline::db
