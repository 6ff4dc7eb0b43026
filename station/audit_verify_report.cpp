#include "station/audit_verify_report.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace keyline::station {

int AuditVerifyOutcome::exitCode() const {
    switch (verdict) {
    case Verdict::Pass:
        return 0;
    case Verdict::Fail:
        return 1;
    case Verdict::Malformed:
    case Verdict::Unreadable:
    case Verdict::Usage:
        return 2;
    case Verdict::Other:
        break;
    }
    return error ? exitCodeFor(error->code()) : 1;
}

AuditVerifyOutcome verifyAuditFile(const QString& file, const QString& signatureFile,
                                   const QByteArray& trustedRootsPem) {
    AuditVerifyOutcome o;
    o.file = file;
    o.signatureFile = signatureFile.isEmpty() ? db::auditSignaturePathFor(file) : signatureFile;
    auto report = db::verifyAuditExport(file, trustedRootsPem, o.signatureFile);
    if (report) {
        o.verdict = AuditVerifyOutcome::Verdict::Pass;
        o.report = *report;
        return o;
    }
    o.error = report.error();
    // The chain check and the parser put the line of the first problem in detail(); the
    // signature check has no line (it covers the whole file).
    o.line = report.error().detail() > 0 ? report.error().detail() : 0;
    switch (report.error().code()) {
    case ErrorCode::VerificationFailed:
        o.verdict = AuditVerifyOutcome::Verdict::Fail;
        break;
    case ErrorCode::BadInput:
        o.verdict = AuditVerifyOutcome::Verdict::Malformed;
        break;
    case ErrorCode::NotFound:
        o.verdict = AuditVerifyOutcome::Verdict::Unreadable;
        break;
    case ErrorCode::InvalidArgument:
        o.verdict = AuditVerifyOutcome::Verdict::Usage;
        break;
    default:
        o.verdict = AuditVerifyOutcome::Verdict::Other;
        break;
    }
    return o;
}

namespace {

QString verdictName(AuditVerifyOutcome::Verdict v) {
    switch (v) {
    case AuditVerifyOutcome::Verdict::Pass:
        return QStringLiteral("PASS");
    case AuditVerifyOutcome::Verdict::Fail:
        return QStringLiteral("FAIL");
    case AuditVerifyOutcome::Verdict::Malformed:
        return QStringLiteral("MALFORMED");
    case AuditVerifyOutcome::Verdict::Unreadable:
        return QStringLiteral("UNREADABLE");
    case AuditVerifyOutcome::Verdict::Usage:
    case AuditVerifyOutcome::Verdict::Other:
        break;
    }
    return QStringLiteral("ERROR");
}

QString scopeText(const db::AuditExportHeader& h) {
    return h.wholeLog() ? QStringLiteral("all") : QStringLiteral("order");
}

void printJson(Cli& cli, const AuditVerifyOutcome& o) {
    QJsonObject doc{{QStringLiteral("file"), o.file},
                    {QStringLiteral("signature"), o.signatureFile},
                    {QStringLiteral("result"), verdictName(o.verdict)}};
    if (o.error) {
        if (o.line > 0)
            doc.insert(QStringLiteral("line"), o.line);
        doc.insert(QStringLiteral("reason"), o.error->toString());
    }
    if (o.report) {
        const db::AuditExportReport& r = *o.report;
        doc.insert(QStringLiteral("scope"), scopeText(r.header));
        doc.insert(QStringLiteral("order"), r.header.orderId);
        doc.insert(QStringLiteral("exported_at"), r.header.exportedAt);
        doc.insert(QStringLiteral("records"), double(r.anchors.count));
        doc.insert(QStringLiteral("first_prev_hash"), r.anchors.firstPrevHash);
        doc.insert(QStringLiteral("last_hash"), r.anchors.lastHash);
        doc.insert(QStringLiteral("signer"), r.signer);
    }
    cli.out << QJsonDocument(doc).toJson(QJsonDocument::Indented);
}

} // namespace

void printAuditVerifyOutcome(Cli& cli, const AuditVerifyOutcome& o, bool json) {
    using Verdict = AuditVerifyOutcome::Verdict;
    const bool verdictOnFile = o.verdict == Verdict::Pass || o.verdict == Verdict::Fail;
    // Not a verdict: the one-line error of DESIGN §3 on stderr (and the JSON document too, so
    // a script reading stdout always gets one).
    if (!verdictOnFile) {
        if (json)
            printJson(cli, o);
        cli.fail(o.exitCode(), o.error ? o.error->toString() : QStringLiteral("unknown failure"));
        return;
    }
    if (json) {
        printJson(cli, o);
        return;
    }
    if (o.verdict == Verdict::Fail) {
        cli.out << "FAIL  audit export " << o.error->toString() << "\n";
        return;
    }
    const db::AuditExportReport& r = *o.report;
    cli.out << "PASS  audit export " << o.file << "\n"
            << "  scope            "
            << (r.header.wholeLog() ? QStringLiteral("whole log")
                                    : QStringLiteral("order ") + r.header.orderId)
            << "\n"
            << "  exported at      " << r.header.exportedAt << "\n"
            << "  records          " << r.anchors.count << "\n"
            << "  first prev hash  " << r.anchors.firstPrevHash << "\n"
            << "  last hash        " << r.anchors.lastHash << "\n"
            << "  signature        " << o.signatureFile << "\n"
            << "  signed by        " << r.signer << "\n";
}

} // namespace keyline::station
