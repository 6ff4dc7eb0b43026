#pragma once

// `keyline audit verify`: the offline check of an audit export and how its verdict is shown
// (PASS, or FAIL with the line and reason of the first problem; text or stable JSON,
// docs/audit.md).

#include "db/audit_export.h"
#include "station/cli.h"

#include <optional>

namespace keyline::station {

struct AuditVerifyOutcome {
    enum class Verdict {
        Pass,       // chain and signature verify
        Fail,       // the chain or the signature does not verify (exit 1)
        Malformed,  // a file that does not parse (exit 2)
        Unreadable, // a file that cannot be read (exit 2)
        Usage,      // not a verdict on the file: e.g. --ca holds no certificate (exit 2)
        Other,      // anything else; its own exit code
    };
    Verdict verdict = Verdict::Other;
    QString file;
    QString signatureFile;
    std::optional<Error> error;                  // when not Pass
    int line = 0;                                // 1-based line of the first problem; 0 when none
    std::optional<db::AuditExportReport> report; // when Pass

    int exitCode() const;
};

// Runs db::verifyAuditExport and classifies its answer. `signatureFile` empty: FILE.p7s.
AuditVerifyOutcome verifyAuditFile(const QString& file, const QString& signatureFile,
                                   const QByteArray& trustedRootsPem);

// PASS/FAIL on stdout (text or `json`); a malformed or unreadable file or a usage problem also
// as the one-line error on stderr.
void printAuditVerifyOutcome(Cli& cli, const AuditVerifyOutcome& outcome, bool json);

} // namespace keyline::station
